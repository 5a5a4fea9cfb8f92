/* SPDX-License-Identifier: MIT */
/*
 * The --help texts of the manager's commands, written like man pages (NAME, SYNOPSIS,
 * DESCRIPTION, OPTIONS, EXIT STATUS, EXAMPLES). docs/cli.md is the long form of the same.
 */
#include "cli/cmd_vm.h"

#include <stdio.h>
#include <string.h>

#include "base/compiler.h"

static const char settings_help[] =
    "SETTINGS\n"
    "  --description TEXT     free text shown by show and list\n"
    "  --os-type TYPE         linux, windows, bsd or other, a label (default linux)\n"
    "  --cpus N               virtual CPUs, 1 to 64 (default 1)\n"
    "  --memory SIZE          RAM, MiB unless suffixed: 512M, 2G; 2M to 1T (default 256M)\n"
    "  --kernel FILE          kernel to boot directly (bzImage, ELF PVH, multiboot); none clears\n"
    "  --boot LIST            boot order, distinct kernel, floppy, cdrom, disk, net\n"
    "                         (default kernel,cdrom,disk)\n"
    "  --firmware auto|none|bios|uefi\n"
    "                         auto (default): the kernel when set and first in the boot order,\n"
    "                         else SeaBIOS booting the cdrom and disks in boot order; none:\n"
    "                         always the kernel directly; bios: always SeaBIOS (a kernel then\n"
    "                         goes through it, first in the boot order); uefi: OVMF, with the\n"
    "                         VM's variable store uefi-vars.fd (no kernel)\n"
    "  --initrd FILE          initial ramdisk (needs --kernel); none clears\n"
    "  --cmdline TEXT         kernel command line (needs --kernel); none clears\n"
    "  --disk PATH[,format=raw|qcow2][,readonly][,cache=none|writeback][,bus=virtio|ide]\n"
    "                         attach a disk image (repeatable, at most 8 with the CD-ROM;\n"
    "                         bus=ide: on the IDE controller, at most 4 with the CD-ROM drive);\n"
    "                         without format= the image's header decides (qcow2 or raw);\n"
    "                         backing=same-dir|none|any: which backing files a qcow2 may\n"
    "                         name (default same-dir: a plain name in the image's directory)\n"
    "  --remove-disk PATH|INDEX|all   detach disks (set only)\n"
    "  --cdrom FILE|empty|eject|none\n"
    "                         raw image in the IDE CD-ROM drive; empty or eject: the drive\n"
    "                         without a disc; none: no drive (on a running VM the disc is\n"
    "                         changed in the drive; none ejects it, the drive goes at the\n"
    "                         next start). A file named empty: ./empty\n"
    "  --floppy FILE|empty|eject|none\n"
    "                         floppy drive A: with a raw 720K, 1.2M, 1.44M or 2.88M image;\n"
    "                         empty, eject and none as for --cdrom, live while it runs too\n"
    "  --boot-menu on|off     the firmware offers its boot menu (ESC; default off)\n"
    "  --serial console|file:PATH|unix:PATH|none\n"
    "                         COM1 (the only port: replaces the one defined; none goes back\n"
    "                         to the default): without\n"
    "                         one, COM1 is the console that 'bareiron console' attaches to\n"
    "  --nic1..--nic4 nat|tap:IFNAME|none[,mac=MAC][,model=virtio]\n"
    "                         network adapter N (virtio-net): NAT (10.0.2.0/24, DHCP), an\n"
    "                         existing tap device (its attributes queues=1..8 and\n"
    "                         vhost=auto|on|off), or present with its link down; numbered\n"
    "                         without gaps; a new one gets a random 52:54:00 MAC, kept\n"
    "  --nic SPEC             the same, as the next adapter\n"
    "  --nat-forward1..4 NAME,tcp|udp,HOSTIP,HOSTPORT,GUESTIP,GUESTPORT\n"
    "                         host->guest port forward of NAT adapter N (empty HOSTIP:\n"
    "                         127.0.0.1, empty GUESTIP: the guest's DHCP address);\n"
    "                         '--nat-forwardN delete NAME' removes one; live while it runs\n"
    "  --nat-restrict1..4 on|off  NAT adapter N without outside access\n"
    "  --nat-tftp1..4 DIR|none    NAT adapter N serves DIR by TFTP (network boot)\n"
    "  --nat-bootfile1..4 NAME|none  the file of that DIR DHCP offers (--boot net)\n"
    "  --remove-nic N|all     remove adapters (set only); later ones move down\n"
    "  --mouse ps2|tablet     pointing device: PS/2 mouse (default) or an absolute\n"
    "                         virtio-input tablet (the PS/2 mouse stays for old guests)\n"
    "  --keyboard ps2|virtio  keyboard: PS/2 (default) or virtio-input (the PS/2 one stays)\n"
    "  --acpi on|off          ACPI tables and power button (default on)\n"
    "  --ioapic on|off        I/O APIC (default on)\n"
    "  --autostart on|off     start with 'bareiron autostart' (default off)\n"
    "  --video auto|std|bochs-display|none|WxH\n"
    "                         display adapter (auto: std without --kernel, none with one) or\n"
    "                         the resolution its EDID prefers (default 1024x768); with an\n"
    "                         adapter the VM has a VNC server on run/vnc.sock\n"
    "  --vram SIZE            video memory, a power of two 1M..512M (default 16M)\n"
    "  Relative paths are taken from the current directory; files must exist.\n"
    "  --video none given alone also drops the display's size and memory.\n"
    "  Not supported yet (refused with status 6, nothing stored): bridge: and model=e1000\n"
    "  adapters, a kernel with uefi or after other boot devices, a pty or second serial\n"
    "  port, a display size or video memory without an adapter, a boot menu without\n"
    "  firmware; --remove-nic, --boot kernel,cdrom,disk, --video none and --boot-menu off\n"
    "  clear them from an older definition.\n\n";

static const char exit_help[] =
    "EXIT STATUS\n"
    "  0 ok, 1 failed, 2 usage error (bad option or value, an option of another command,\n"
    "  invalid VM name), 3 no such VM or file, 4 wrong state (running, locked, disk in use,\n"
    "  host port in use), 5 KVM unavailable, 6 invalid definition or image, or a setting\n"
    "  not supported yet, 7 timeout. The same for every command and for the monitor; see\n"
    "  docs/cli.md.\n\n"
    "ENVIRONMENT\n"
    "  BAREIRON_HOME  the VM library (default $XDG_DATA_HOME/bareiron or\n"
    "                 ~/.local/share/bareiron); BAREIRON_VMM  the monitor binary\n";

static const struct {
    const char *cmd;
    bool has_settings;
    const char *text;
} helps[] = {
    {"create", true,
     "NAME\n  bareiron create - define a new named VM\n\n"
     "SYNOPSIS\n  bareiron create NAME [SETTINGS...]\n\n"
     "DESCRIPTION\n  Creates VM NAME in the library with the defaults below changed by SETTINGS.\n"
     "  NAME is 1 to 64 characters of [A-Za-z0-9._-] starting with a letter or digit.\n"
     "  Nothing is started. The definition is written atomically to vms/NAME/vm.json.\n\n"},
    {"set", true,
     "NAME\n  bareiron set - change a VM's settings\n\n"
     "SYNOPSIS\n  bareiron set NAME SETTING... \n\n"
     "DESCRIPTION\n  Changes the given settings and keeps the others. While the VM runs only\n"
     "  --description, --os-type, --autostart, --nat-forwardN, --floppy and --cdrom may\n"
     "  change (a forward is added to or removed from the running VM too, a disk or CD is\n"
     "  changed in its drive); the rest is refused (status 4). The same holds while it is\n"
     "  saved ('bareiron discard' drops the saved state first).\n"
     "  --disk adds to the existing list; --remove-disk/--remove-nic take away.\n\n"},
    {"list", false,
     "NAME\n  bareiron list - list the defined VMs and their state\n\n"
     "SYNOPSIS\n  bareiron list [--json]\n\n"
     "DESCRIPTION\n  One line per VM: name, state (powered-off, starting, running, paused,\n"
     "  stopping, aborted, saved), CPUs, memory, description. A VM whose vm.json cannot be read "
     "is\n"
     "  listed as \"invalid\" and the reason is printed on stderr.\n\n"
     "OPTIONS\n  --json   a JSON array of {name, state, pid, cpus, memory_mib, os_type,\n"
     "           autostart, description} (or {name, state: \"invalid\", error})\n\n"},
    {"show", false,
     "NAME\n  bareiron show - show a VM's settings and state\n\n"
     "SYNOPSIS\n  bareiron show NAME [--json]\n\n"
     "DESCRIPTION\n  Prints every setting, the current state (derived from the running monitor,\n"
     "  so a crashed one shows as aborted) and the VM's directory.\n\n"
     "OPTIONS\n  --json   {name, uuid, state, pid, last_exit_status, last_exit_signal, directory,\n"
     "           snapshot_count, current_snapshot (a name or null),\n"
     "           config: the vm.json object, runtime: the monitor's query-config\n"
     "           while it runs}\n\n"},
    {"delete", false,
     "NAME\n  bareiron delete - delete a VM\n\n"
     "SYNOPSIS\n  bareiron delete NAME [--keep-disks]\n\n"
     "DESCRIPTION\n  Removes the VM's definition and directory without asking. A VM that runs is\n"
     "  refused (status 4). Disk images inside vms/NAME/disks/ and the snapshot tree go\n"
     "  with it; images elsewhere are never touched (nor the snapshots inside them).\n"
     "  A VM holding the base disk of a linked clone is refused (status 4).\n\n"
     "OPTIONS\n  --keep-disks   move vms/NAME/disks/ to <library>/disks/NAME/ first\n\n"},
    {"start", false,
     "NAME\n  bareiron start - start a VM in the background\n\n"
     "SYNOPSIS\n  bareiron start NAME [--console]\n\n"
     "DESCRIPTION\n  Spawns the monitor (bareiron-vmm) detached, with its output in\n"
     "  vms/NAME/run/vmm.log, and waits until its control socket answers (15 s,\n"
     "  BAREIRON_START_TIMEOUT_MS). If the monitor exits during start, the end of its log is\n"
     "  printed and the status is the monitor's (3 a file is missing, 4 a disk is in use,\n"
     "  5 no KVM, 6 bad kernel or image). A definition holding a setting the monitor does\n"
     "  not support yet is refused (status 6) with the 'bareiron set' that removes it.\n"
     "  Of two simultaneous starts, one wins and the other gets status 4. A saved VM is\n"
     "  resumed from its saved state (which is then dropped) instead of booted.\n\n"
     "OPTIONS\n  --console   attach to the serial console once started (Ctrl-A x detaches)\n\n"},
    {"console", false,
     "NAME\n  bareiron console - attach to a running VM's serial console\n\n"
     "SYNOPSIS\n  bareiron console NAME\n\n"
     "DESCRIPTION\n  Connects the terminal to COM1 of VM NAME. Ctrl-A x detaches and the VM keeps\n"
     "  running; Ctrl-A Ctrl-A sends a Ctrl-A. When stdin is not a terminal, its end\n"
     "  detaches.\n\n"},
    {"stop", false,
     "NAME\n  bareiron stop - press the power button and wait for the guest to shut down\n\n"
     "SYNOPSIS\n  bareiron stop NAME [--timeout SECONDS]\n\n"
     "DESCRIPTION\n  Sends an ACPI power-button press, then waits for the monitor to exit.\n\n"
     "OPTIONS\n  --timeout S   wait at most S seconds (default 60; 0 returns at once). If the\n"
     "                guest ignores the button, the status is 7 and the VM keeps running.\n\n"},
    {"poweroff", false,
     "NAME\n  bareiron poweroff - hard power-off\n\n"
     "SYNOPSIS\n  bareiron poweroff NAME\n\n"
     "DESCRIPTION\n  Turns the VM off at once, like pulling the plug (unsaved guest data is\n"
     "  lost). A monitor that does not exit within 10 s is killed.\n\n"},
    {"reset", false,
     "NAME\n  bareiron reset - hard reset\n\n"
     "SYNOPSIS\n  bareiron reset NAME\n\n"
     "DESCRIPTION\n  Resets the running or paused VM like the reset button.\n\n"},
    {"pause", false,
     "NAME\n  bareiron pause - pause a running VM\n\n"
     "SYNOPSIS\n  bareiron pause NAME\n\n"
     "DESCRIPTION\n  Stops the vCPUs; memory and devices stay. 'bareiron resume' continues.\n\n"},
    {"resume", false,
     "NAME\n  bareiron resume - resume a paused VM\n\n"
     "SYNOPSIS\n  bareiron resume NAME\n\n"
     "DESCRIPTION\n  Continues the vCPUs of a VM paused with 'bareiron pause'.\n\n"},
    {"save", false,
     "NAME\n  bareiron save - save a running VM's state and stop it\n\n"
     "SYNOPSIS\n  bareiron save NAME [--compress zstd]\n\n"
     "DESCRIPTION\n  Pauses the running or paused VM, has its monitor write the machine state\n"
     "  (vCPUs, devices, guest memory written sparsely) to vms/NAME/saved.state.new, reads it\n"
     "  back and checks it, renames it to saved.state and lets the monitor exit: the VM is\n"
     "  then 'saved'. 'bareiron start' resumes it where it stopped and then drops the file;\n"
     "  'bareiron discard' drops it instead. While saved, the settings that describe the\n"
     "  machine are refused and its disks must not be changed (see docs/cli.md). Firmware\n"
     "  VMs (SeaBIOS, UEFI) save as kernel boots do, IDE disks and the CD-ROM included.\n\n"
     "OPTIONS\n  --compress zstd   compress guest memory: a smaller file, but the resume\n"
     "                    reads it instead of mapping it (slower, more memory)\n\n"},
    {"discard", false,
     "NAME\n  bareiron discard - drop a saved VM's state\n\n"
     "SYNOPSIS\n  bareiron discard NAME\n\n"
     "DESCRIPTION\n  Removes the state 'bareiron save' wrote; the VM becomes powered-off and its\n"
     "  next start boots afresh (as after pulling the plug of the saved machine).\n\n"},
    {"sendkey", false,
     "NAME\n  bareiron sendkey - press keys or type text in a running VM\n\n"
     "SYNOPSIS\n  bareiron sendkey NAME KEYS...\n  bareiron sendkey NAME --text STR\n\n"
     "DESCRIPTION\n  KEYS are combinations of key names joined by '-', pressed in order and\n"
     "  released in reverse: ctrl-alt-delete, alt-f2, ret, shift-a (QEMU's sendkey names:\n"
     "  a..z, 0..9, f1..f12, ret, esc, spc, tab, backspace, ctrl, alt, shift, meta_l,\n"
     "  delete, insert, home, end, pgup, pgdn, up, down, left, right, kp_0..kp_9, minus,\n"
     "  equal, comma, dot, slash...). --text types STR on a US layout (\\n in a shell's\n"
     "  $'...' is Enter). The keys go to the virtio-input keyboard when the guest runs\n"
     "  it, else to the PS/2 keyboard. An unknown key is a usage error (status 2); a VM\n"
     "  that does not run is status 4.\n\n"},
    {"stats", false,
     "NAME\n  bareiron stats - counters of a running VM\n\n"
     "SYNOPSIS\n  bareiron stats NAME [--json]\n\n"
     "DESCRIPTION\n  Prints what the monitor counts: uptime_ns, vcpu_count, vcpu_time_ns, exits,\n"
     "  exits_io, exits_mmio, rss_bytes, guest_mem_bytes, disk_{read,write}_{bytes,ops},\n"
     "  and per network adapter rx/tx packets and bytes, drops and errors.\n"
     "  Counters the monitor does not keep are left out.\n\n"
     "OPTIONS\n  --json   the same as one JSON object, plus name and state\n\n"},
    {"screenshot", false,
     "NAME\n  bareiron screenshot - the screen of a running VM\n\n"
     "SYNOPSIS\n  bareiron screenshot NAME FILE.png\n  bareiron screenshot NAME --text\n\n"
     "DESCRIPTION\n  Writes the screen of VM NAME's display adapter as a PNG file (whatever mode\n"
     "  the guest is in), or with --text prints the VGA text screen (80x25 and the like)\n"
     "  as lines; a graphics mode then gives status 6. A VM without an adapter (--video\n"
     "  none, the default of a kernel boot) gives status 3, one that does not run 4, a\n"
     "  missing or extra argument 2.\n\n"},
    {"display", false,
     "NAME\n  bareiron display - where a VNC viewer connects\n\n"
     "SYNOPSIS\n  bareiron display NAME\n\n"
     "DESCRIPTION\n  Prints the VNC address of running VM NAME: unix:PATH, the socket in its run\n"
     "  directory (no TCP listener is opened). 'show' lists it too.\n\n"},
    {"snapshot", false,
     "NAME\n  bareiron snapshot - snapshots of a VM, as a tree\n\n"
     "SYNOPSIS\n  bareiron snapshot NAME take SNAP [--description TEXT] [--live]\n"
     "  bareiron snapshot NAME list\n"
     "  bareiron snapshot NAME show|restore|delete SNAP\n"
     "  bareiron snapshot NAME edit SNAP [--name NEW] [--description TEXT]\n\n"
     "DESCRIPTION\n  take records the VM's definition and a qcow2 internal snapshot (named by the\n"
     "  snapshot's UUID, see 'qemu-img snapshot -l') in every writable disk, as a child\n"
     "  of the current snapshot; it becomes current. Raw writable disks are refused\n"
     "  (status 6; convert them to qcow2); read-only disks and the CD-ROM are skipped.\n"
     "  If one disk fails, the snapshots made in the others are deleted again.\n"
     "  On a running or paused VM take also saves the machine state: the VM is paused\n"
     "  for the whole take (its monitor saves, exits and is resumed from the snapshot's\n"
     "  state); with --live memory is copied while the guest runs and it is paused only\n"
     "  for the last round and the resume. On a saved VM it keeps the saved state.\n"
     "  list prints the tree, the current snapshot marked '*'. restore reverts every\n"
     "  disk and the settings (the present state is lost) and makes SNAP current; a\n"
     "  snapshot with a machine state leaves the VM saved ('bareiron start' resumes it).\n"
     "  delete removes SNAP from the disks and the tree; its children get its parent.\n"
     "  SNAP is a name (unique in the VM) or a UUID. restore and delete refuse a running\n"
     "  VM (status 4).\n\n"},
    {"clone", false,
     "NAME\n  bareiron clone - copy a powered-off VM\n\n"
     "SYNOPSIS\n  bareiron clone NAME NEW [--snapshot SNAP] [--linked]\n\n"
     "DESCRIPTION\n  Creates VM NEW with NAME's settings and new MAC addresses. Each writable\n"
     "  disk is copied sparsely into vms/NEW/disks/ (a progress bar on a terminal);\n"
     "  read-only disks and the CD-ROM are shared. Snapshots are not copied.\n\n"
     "OPTIONS\n  --snapshot SNAP   the disks' content and the settings at snapshot SNAP\n"
     "  --linked          no copy: NEW gets a qcow2 overlay on each of NAME's disks, and\n"
     "                    NAME moves onto its own overlay, so that the shared base never\n"
     "                    changes again. Not supported yet for a VM with snapshots or\n"
     "                    with --snapshot (status 6).\n\n"},
    {"autostart", false,
     "NAME\n  bareiron autostart - start every VM marked autostart\n\n"
     "SYNOPSIS\n  bareiron autostart\n\n"
     "DESCRIPTION\n  Starts each VM with --autostart on that is not running (for a boot script\n"
     "  or a systemd user unit). The status is that of the first failure, else 0.\n\n"},
};

void vm_print_help(const char *cmd)
{
    for (size_t i = 0; i < ARRAY_SIZE(helps); i++) {
        if (strcmp(helps[i].cmd, cmd) != 0)
            continue;
        fputs(helps[i].text, stdout);
        if (helps[i].has_settings)
            fputs(settings_help, stdout);
        fputs(exit_help, stdout);
        return;
    }
    printf("usage: bareiron %s ... (see docs/cli.md)\n", cmd);
}
