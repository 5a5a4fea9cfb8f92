/* SPDX-License-Identifier: MIT */
/*
 * The limits of one VM that both the manager (mgr/, its vm.json and `create`/`set` settings)
 * and the monitor (vmm/, its command line) enforce. They live here, in the one layer both may
 * include, so that a definition the manager accepts is never refused by the monitor for a
 * limit and the documents quote one number (docs/cli.md, docs/vmm.md).
 */
#ifndef BAREIRON_BASE_VM_LIMITS_H
#define BAREIRON_BASE_VM_LIMITS_H

/* vCPUs: 1..VM_MAX_CPUS (the MADT and MP table are sized for them). */
#define VM_MAX_CPUS 64
/* Guest RAM in MiB: the kernel loads at 1 MiB, so 2 MiB is the smallest machine. */
#define VM_MIN_MEMORY_MIB 2
#define VM_MAX_MEMORY_MIB (1024 * 1024) /* 1 TiB */
/* Block devices of one VM, the CD-ROM included (each is a virtio-blk PCI function). */
#define VM_MAX_DISKS 8
/* Network adapters of one VM (each is a virtio-net PCI function). */
#define VM_MAX_NICS 4
/* A VM name (without the NUL): the manager's directory name and the monitor's --name. */
#define VM_MAX_NAME 64
/* The kernel command line in bytes, without the NUL (it lives in a 64 KiB guest page range). */
#define VM_MAX_CMDLINE_BYTES (64 * 1024 - 1)

#endif
