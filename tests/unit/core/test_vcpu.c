/* SPDX-License-Identifier: MIT */
/*
 * vCPU tests on a real struct vm: tiny machine-code payloads run in milliseconds and talk to
 * the test through port and MMIO exits. They need /dev/kvm and exit 77 (skipped) without it.
 * They run in ring 0 and real/protected mode, which kvm-pvm hosts emulate, so they use only
 * instructions that emulator accepts.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/gmem.h"
#include "core/kvm.h"
#include "core/vcpu.h"
#include "core/vm.h"
#include "core/x86/layout.h"
#include "core/x86/regs.h"

#define CODE_GPA 0x100000ULL
#define MMIO_GPA 0xd0000000ULL

struct io_log {
    pthread_mutex_t lock;
    struct vm *vm;
    unsigned n;
    struct {
        bool is_pio, is_write;
        uint64_t addr, val;
        unsigned size;
    } ev[32];
};

static struct kvm *kvm;

static void test_io(void *opaque, bool is_pio, uint64_t addr, unsigned size, bool is_write,
                    uint64_t *val)
{
    struct io_log *log = opaque;
    pthread_mutex_lock(&log->lock);
    if (log->n < 32)
        log->ev[log->n++] = (__typeof__(log->ev[0])){is_pio, is_write, addr, *val, size};
    pthread_mutex_unlock(&log->lock);
    if (!is_write)
        *val = is_pio ? 0x5a : 0xcafebabe;
    if (is_pio && is_write && addr == PORT_DEBUG_EXIT)
        vm_request(log->vm, VM_REQ_EXIT, (int)((*val << 1) | 1));
}

/* Runs (code) at CODE_GPA in (mode) on a 1-vCPU (ncpus for SMP) VM until it stops. */
static enum vm_request run_code(enum regs_entry_mode mode, const uint8_t *code, size_t len,
                                unsigned ncpus, struct io_log *log, int *status)
{
    struct gmem *gm;
    struct vm *vm;
    struct error err = {0};
    struct boot_cpu b = {.mode = mode, .entry_gpa = CODE_GPA, .arg_gpa = BOOT_PARAMS_GPA};
    enum vm_request req;
    assert_int_equal(gmem_create(&gm), 0);
    assert_int_equal(gmem_add_pc_ram(gm, 32ULL << 20), 0);
    assert_int_equal(regs_write_boot_tables(gm, mode), 0);
    assert_int_equal(gmem_write(gm, CODE_GPA, code, len), 0);
    assert_int_equal(vm_create(kvm, gm, ncpus, CPU_MODEL_HOST, &vm, &err), 0);
    memset(log, 0, sizeof(*log));
    pthread_mutex_init(&log->lock, NULL);
    log->vm = vm;
    vm_set_io_handler(vm, test_io, log);
    assert_int_equal(vcpu_set_boot_state(vm->vcpus[0], &b), 0);
    assert_int_equal(vm_start(vm), 0);
    req = vm_wait(vm, status);
    vm_destroy(vm);
    gmem_destroy(gm);
    return req;
}

static void test_pio_out_in(void **state)
{
    /* mov al,0x42; out 0x10,al; in al,0x14; out 0x11,al; mov al,7; out 0xf4,al (ports no
     * in-kernel device claims: 0x20 would be the in-kernel PIC and never reach the test) */
    static const uint8_t code[] = {0xb0, 0x42, 0xe6, 0x10, 0xe4, 0x14, 0xe6,
                                   0x11, 0xb0, 0x07, 0xe6, 0xf4, 0xeb, 0xfe};
    struct io_log log;
    int status;
    (void)state;
    assert_int_equal(run_code(REGS_ENTRY_MULTIBOOT32, code, sizeof(code), 1, &log, &status),
                     VM_REQ_EXIT);
    assert_int_equal(status, 15);
    assert_true(log.n >= 4);
    assert_true(log.ev[0].is_pio && log.ev[0].is_write && log.ev[0].addr == 0x10);
    /* A write's value is zero-extended from its size (core/vm.h), not padded with ones. */
    assert_true(log.ev[0].val == 0x42 && log.ev[0].size == 1);
    assert_true(log.ev[1].is_pio && !log.ev[1].is_write && log.ev[1].addr == 0x14);
    assert_true(log.ev[2].addr == 0x11 && log.ev[2].val == 0x5a);
    assert_true(log.ev[3].addr == PORT_DEBUG_EXIT && log.ev[3].val == 7);
}

static void test_mmio(void **state)
{
    /* mov dword [MMIO],0x12345678; mov eax,[MMIO+4]; mov dx,0x12; out dx,eax; exit 0 */
    static const uint8_t code[] = {0xc7, 0x05, 0x00, 0x00, 0x00, 0xd0, 0x78, 0x56, 0x34,
                                   0x12, 0xa1, 0x04, 0x00, 0x00, 0xd0, 0x66, 0xba, 0x12,
                                   0x00, 0xef, 0xb0, 0x00, 0xe6, 0xf4, 0xeb, 0xfe};
    struct io_log log;
    int status;
    (void)state;
    assert_int_equal(run_code(REGS_ENTRY_PVH32, code, sizeof(code), 1, &log, &status), VM_REQ_EXIT);
    assert_int_equal(status, 1);
    assert_true(!log.ev[0].is_pio && log.ev[0].is_write && log.ev[0].addr == MMIO_GPA);
    assert_true(log.ev[0].val == 0x12345678 && log.ev[0].size == 4);
    assert_true(!log.ev[1].is_pio && !log.ev[1].is_write && log.ev[1].addr == MMIO_GPA + 4);
    assert_true(log.ev[2].is_pio && log.ev[2].addr == 0x12 && log.ev[2].val == 0xcafebabe);
}

static void test_long_mode_entry(void **state)
{
    /* mov rax,rsi; mov dx,0x13; out dx,eax; mov al,3; out 0xf4,al */
    static const uint8_t code[] = {0x48, 0x89, 0xf0, 0x66, 0xba, 0x13, 0x00,
                                   0xef, 0xb0, 0x03, 0xe6, 0xf4, 0xeb, 0xfe};
    struct io_log log;
    int status;
    (void)state;
    assert_int_equal(run_code(REGS_ENTRY_LINUX64, code, sizeof(code), 1, &log, &status),
                     VM_REQ_EXIT);
    assert_int_equal(status, 7);
    assert_true(log.ev[0].addr == 0x13 && log.ev[0].val == BOOT_PARAMS_GPA);
}

static void test_triple_fault(void **state)
{
    /* lidt [CODE+11] (limit 0); ud2; jmp $; then the 6-byte IDTR. #UD -> #GP -> #DF ->
     * shutdown. UD2, not INT3: kvm-pvm's ring-0 emulator refuses INT3 (internal error). */
    static const uint8_t code[] = {0x0f, 0x01, 0x1d, 0x0b, 0x00, 0x10, 0x00, 0x0f, 0x0b,
                                   0xeb, 0xfe, 0,    0,    0,    0,    0,    0};
    struct io_log log;
    int status;
    (void)state;
    assert_int_equal(run_code(REGS_ENTRY_MULTIBOOT32, code, sizeof(code), 1, &log, &status),
                     VM_REQ_TRIPLE_FAULT);
}

static void test_pause_resume_smp(void **state)
{
    static const uint8_t code[] = {0xeb, 0xfe}; /* jmp $ */
    struct gmem *gm;
    struct vm *vm;
    struct error err = {0};
    struct boot_cpu b = {.mode = REGS_ENTRY_MULTIBOOT32, .entry_gpa = CODE_GPA};
    int status;
    (void)state;
    assert_int_equal(gmem_create(&gm), 0);
    assert_int_equal(gmem_add_pc_ram(gm, 16ULL << 20), 0);
    assert_int_equal(regs_write_boot_tables(gm, b.mode), 0);
    assert_int_equal(gmem_write(gm, CODE_GPA, code, sizeof(code)), 0);
    assert_int_equal(vm_create(kvm, gm, 4, CPU_MODEL_BASELINE, &vm, &err), 0);
    assert_int_equal(vcpu_set_boot_state(vm->vcpus[0], &b), 0);
    assert_int_equal(vm_start(vm), 0);
    for (int i = 0; i < 3; i++) {
        vm_pause(vm);
        assert_true(vm_is_paused(vm));
        vm_resume(vm);
    }
    assert_int_equal(vm_pending(vm), VM_REQ_NONE);
    vm_request(vm, VM_REQ_SIGNAL, 130);
    assert_int_equal(vm_wait(vm, &status), VM_REQ_SIGNAL);
    assert_int_equal(status, 130);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(vcpu_get_state(vm->vcpus[i]), VCPU_STOPPED);
    vm_destroy(vm);
    gmem_destroy(gm);
}

int main(void)
{
    struct error err = {0};
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pio_out_in),       cmocka_unit_test(test_mmio),
        cmocka_unit_test(test_long_mode_entry),  cmocka_unit_test(test_triple_fault),
        cmocka_unit_test(test_pause_resume_smp),
    };
    int ret;
    if (kvm_open("/dev/kvm", &kvm, &err) < 0) {
        printf("skipped: %s\n", err.message);
        return 77;
    }
    ret = cmocka_run_group_tests(tests, NULL, NULL);
    kvm_close(kvm);
    return ret;
}
