/* SPDX-License-Identifier: MIT */
/*
 * core/irq.c's GSI routing table on a real VM: irqfds with MSI routes under both irqchips, and
 * with the kernel irqchip the default PIC/IOAPIC routes kept in every table handed to KVM (a
 * legacy line still reaches the 8259 after an irqfd was routed and removed). Needs /dev/kvm:
 * exits 77 (skipped) without it.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/gmem.h"
#include "core/kvm.h"
#include "core/vm.h"

static struct kvm *kvm;

static void test_default_routes(void **state)
{
    struct kvm_irq_routing_entry e[VM_DEFAULT_ROUTES];
    unsigned pic[3] = {0}, ioapic_pins = 0;
    (void)state;
    assert_int_equal(vm_default_routes(e), VM_DEFAULT_ROUTES);
    for (unsigned i = 0; i < VM_DEFAULT_ROUTES; i++) {
        assert_int_equal(e[i].type, KVM_IRQ_ROUTING_IRQCHIP);
        assert_true(e[i].gsi < 24);
        if (e[i].u.irqchip.irqchip == KVM_IRQCHIP_IOAPIC) {
            assert_int_equal(e[i].u.irqchip.pin, e[i].gsi);
            ioapic_pins++;
            continue;
        }
        assert_true(e[i].gsi < 16);
        assert_int_equal(e[i].u.irqchip.irqchip,
                         e[i].gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE);
        assert_int_equal(e[i].u.irqchip.pin, e[i].gsi % 8);
        pic[e[i].u.irqchip.irqchip]++;
    }
    assert_int_equal(ioapic_pins, 24);
    assert_int_equal(pic[KVM_IRQCHIP_PIC_MASTER], 8);
    assert_int_equal(pic[KVM_IRQCHIP_PIC_SLAVE], 8);
}

/* KVM_IRQ_LINE_STATUS on (gsi): > 0 delivered (the 8259 takes it: unmasked after reset), < 0
 * no route took it (the IOAPIC's pins are masked after reset). Lowers the line again. */
static int line_status(struct vm *vm, uint32_t gsi)
{
    struct kvm_irq_level l = {.irq = gsi, .level = 1};
    int status;
    assert_int_equal(ioctl(vm->fd, KVM_IRQ_LINE_STATUS, &l), 0);
    status = l.status;
    l.irq = gsi;
    l.level = 0;
    assert_int_equal(ioctl(vm->fd, KVM_IRQ_LINE_STATUS, &l), 0);
    return status;
}

static void run_irqfd(enum vm_irqchip chip)
{
    struct gmem *gm;
    struct vm *vm;
    struct error err = {0};
    uint64_t one = 1;
    int efd[2];
    assert_int_equal(gmem_create(&gm), 0);
    assert_int_equal(gmem_add_pc_ram(gm, 16ULL << 20), 0);
    assert_int_equal(vm_create(kvm, gm, 1, CPU_MODEL_BASELINE, chip, &vm, &err), 0);
    for (int i = 0; i < 2; i++) {
        efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        assert_true(efd[i] >= 0);
    }
    if (chip == VM_IRQCHIP_KERNEL) {
        assert_true(line_status(vm, 3) > 0);
        assert_true(line_status(vm, 20) < 0);
    }
    assert_int_equal(vm_irqfd_msi(vm, efd[0], 0xfee00000ULL, 0x31), 0);
    assert_int_equal(vm_irqfd_msi(vm, efd[1], 0xfee00000ULL, 0x32), 0);
    assert_int_equal(vm_irqfd_msi(vm, efd[0], 0xfee00000ULL, 0x33), 0); /* a new message */
    assert_int_equal(write(efd[0], &one, sizeof(one)), (ssize_t)sizeof(one));
    if (chip == VM_IRQCHIP_KERNEL) {
        assert_true(line_status(vm, 4) > 0);  /* the 8259 route is still there */
        assert_true(line_status(vm, 10) > 0); /* the slave's too */
    }
    vm_irqfd_remove(vm, efd[0]);
    vm_irqfd_remove(vm, efd[1]);
    vm_irqfd_remove(vm, efd[1]); /* not routed: no-op */
    if (chip == VM_IRQCHIP_KERNEL)
        assert_true(line_status(vm, 5) > 0);
    close(efd[0]);
    close(efd[1]);
    vm_destroy(vm);
    gmem_destroy(gm);
}

static void test_irqfd_kernel_irqchip(void **state)
{
    (void)state;
    run_irqfd(VM_IRQCHIP_KERNEL);
}

static void test_irqfd_split_irqchip(void **state)
{
    (void)state;
    if (kvm_check_cap(kvm, KVM_CAP_SPLIT_IRQCHIP) <= 0)
        skip();
    run_irqfd(VM_IRQCHIP_SPLIT);
}

int main(void)
{
    struct error err = {0};
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_routes),
        cmocka_unit_test(test_irqfd_kernel_irqchip),
        cmocka_unit_test(test_irqfd_split_irqchip),
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
