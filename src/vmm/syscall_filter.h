/* SPDX-License-Identifier: MIT */
/*
 * Per-thread seccomp allowlists for the monitor (docs/security.md "Seccomp"), built with
 * libseccomp: one BPF program per thread class of base/thread_class.h (main = the event loop,
 * vcpu, blk-worker). A system call outside its thread's list raises SIGSYS
 * (SECCOMP_RET_TRAP); the handler writes one line,
 *     "seccomp: forbidden syscall NAME (NR) in CLASS"
 * on stderr and ends the process with status EXIT_STATUS_SECCOMP (10). Syscall names are
 * resolved before any filter is loaded, so the handler only formats and writes.
 *
 * Order: syscall_filter_prepare() right after the command line is parsed (no thread yet: it
 * sets no_new_privs and the thread hook, so every thread started from then on loads its own
 * class's filter first thing); syscall_filter_install() once the machine is loaded and the
 * runtime set up, before the first guest instruction. The main thread's filter is a superset
 * of what the threads it starts need until they load their own: seccomp filters stack, and
 * a thread's effective policy is the intersection of the filters it inherited and its own.
 */
#ifndef BAREIRON_VMM_SYSCALL_FILTER_H
#define BAREIRON_VMM_SYSCALL_FILTER_H

#include <fcntl.h>
#include <stdbool.h>

#include "base/compiler.h"
#include "base/exit_status.h"
#include "base/error.h"

/*
 * The only opens the main thread's filter lets reach the file system, outside --sandbox: the
 * control command save creating its temporary state file (new, never through a symlink) and
 * opening the directory it is renamed into for fsync(2). Every other open answers EACCES
 * (but see syscall_filter_allow_read_opens).
 */
#define VMM_SAVE_CREATE_FLAGS (O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW)
#define VMM_SAVE_DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_CLOEXEC)

/*
 * Builds the BPF programs and the syscall name table, installs the SIGSYS handler, sets
 * no_new_privs and the thread-class hook. (is_sandboxed): unlink(2) returns -ENOENT instead of
 * being allowed (inside the jail the socket paths do not exist; the keeper removes them).
 * Main thread, before any other thread exists. Returns 0 or -errno with (err) set.
 */
MUST_CHECK int syscall_filter_prepare(bool is_sandboxed, struct error *err);

/*
 * With a TFTP directory (--nic nat,tftp=DIR), before syscall_filter_prepare: the main thread's
 * filter lets openat(2) with exactly O_RDONLY through, for libslirp, which opens each file it
 * serves by its path. Under --sandbox only the directories mirrored into the jail can be
 * reached that way (vmm/sandbox.h).
 */
void syscall_filter_allow_read_opens(void);

/*
 * False in AddressSanitizer builds: LeakSanitizer's exit-time check ptraces the process's
 * threads from a clone, which no allowlist can grant safely. The monitor then runs unfiltered
 * with a warning (docs/security.md).
 */
bool syscall_filter_is_supported(void);

/* Loads the main thread's filter on the calling thread. Returns 0 or -errno with (err) set. */
MUST_CHECK int syscall_filter_install(struct error *err);

/* The allowlist of (cls) (a NULL-terminated list of names), for docs and tests. */
const char *const *syscall_filter_list(int cls);

#endif
