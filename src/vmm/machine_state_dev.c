/* SPDX-License-Identifier: MIT */
/*
 * The saved-state hooks of machine_parts[] (vmm/machine_internal.h): each part's state as the
 * bytes of its section (little-endian, field by field, in the order below), and back. A load
 * reads the whole section (sf_in_end) before the device's own load validates the values.
 */
#define LOG_TAG "machine"
#include "vmm/machine_internal.h"

#include <errno.h>
#include <string.h>

#include "base/statefile.h"
#include "core/vm.h"
#include "core/vm_state.h"
#include "dev/irq/ioapic.h"
#include "dev/legacy/acpi_pm.h"
#include "dev/legacy/cmos_rtc.h"
#include "dev/legacy/i8042.h"
#include "dev/legacy/port92.h"
#include "dev/legacy/uart8250.h"
#include "dev/pci/pci.h"

bool machine_has_ioapic(const struct machine *m)
{
    return m->opts->irqchip == VMM_IRQCHIP_SPLIT;
}

bool machine_has_debug_exit(const struct machine *m)
{
    return m->opts->has_debug_exit;
}

int machine_save_vm(struct machine *m, struct sf_buf *b)
{
    struct error err = {0};
    int ret = vm_save_state(m->vm, b, &err);
    if (ret < 0)
        log_error("%s", err.message);
    return ret;
}

int machine_load_vm(struct machine *m, struct sf_in *in)
{
    struct error err = {0};
    int ret = vm_load_state(m->vm, in->p, in->len, &err);
    in->pos = in->len;
    if (ret < 0)
        log_error("%s", err.message);
    return ret;
}

int machine_save_ioapic(struct machine *m, struct sf_buf *b)
{
    ioapic_save(m->ioapic, b);
    return 0;
}

int machine_load_ioapic(struct machine *m, struct sf_in *in)
{
    return ioapic_load(m->ioapic, in);
}

/* A bool as one byte 0 or 1; anything else marks (in) bad. */
static bool get_bool(struct sf_in *in)
{
    uint8_t v = sf_get_u8(in);
    if (v > 1)
        in->bad = true;
    return v == 1;
}

int machine_save_com1(struct machine *m, struct sf_buf *b)
{
    struct uart8250_state st;
    uart8250_save(m->com1, &st);
    sf_put_u8(b, st.ier);
    sf_put_u8(b, st.iir_thre_pending);
    sf_put_u8(b, st.fcr);
    sf_put_u8(b, st.lcr);
    sf_put_u8(b, st.mcr);
    sf_put_u8(b, st.lsr);
    sf_put_u8(b, st.msr);
    sf_put_u8(b, st.scr);
    sf_put_u8(b, st.dll);
    sf_put_u8(b, st.dlm);
    sf_put_u8(b, st.thr);
    sf_put_bytes(b, st.rx_fifo, sizeof(st.rx_fifo));
    sf_put_u8(b, st.rx_head);
    sf_put_u8(b, st.rx_count);
    return 0;
}

int machine_load_com1(struct machine *m, struct sf_in *in)
{
    struct uart8250_state st;
    st.ier = sf_get_u8(in);
    st.iir_thre_pending = sf_get_u8(in);
    st.fcr = sf_get_u8(in);
    st.lcr = sf_get_u8(in);
    st.mcr = sf_get_u8(in);
    st.lsr = sf_get_u8(in);
    st.msr = sf_get_u8(in);
    st.scr = sf_get_u8(in);
    st.dll = sf_get_u8(in);
    st.dlm = sf_get_u8(in);
    st.thr = sf_get_u8(in);
    sf_get_bytes(in, st.rx_fifo, sizeof(st.rx_fifo));
    st.rx_head = sf_get_u8(in);
    st.rx_count = sf_get_u8(in);
    return sf_in_end(in) < 0 ? -EINVAL : uart8250_load(m->com1, &st);
}

static void put_queue(struct sf_buf *b, const struct i8042_queue *q)
{
    sf_put_bytes(b, q->buf, sizeof(q->buf));
    sf_put_u8(b, q->head);
    sf_put_u8(b, q->count);
}

static void get_queue(struct sf_in *in, struct i8042_queue *q)
{
    sf_get_bytes(in, q->buf, sizeof(q->buf));
    q->head = sf_get_u8(in);
    q->count = sf_get_u8(in);
}

int machine_save_i8042(struct machine *m, struct sf_buf *b)
{
    struct i8042_state st;
    i8042_save(m->i8042, &st);
    sf_put_u8(b, st.ctr);
    sf_put_u8(b, st.status_cmd);
    sf_put_u8(b, st.pending_cmd);
    sf_put_u8(b, st.obuf);
    sf_put_u8(b, st.obuf_full);
    sf_put_u8(b, st.obuf_aux);
    put_queue(b, &st.ctrl_q);
    put_queue(b, &st.kbd_q);
    put_queue(b, &st.aux_q);
    for (unsigned i = 0; i < I8042_QUEUE_SIZE; i++)
        sf_put_u8(b, st.ctrl_q_aux[i]);
    sf_put_u8(b, st.kbd_expect);
    sf_put_u8(b, st.kbd_scanning);
    sf_put_u8(b, st.kbd_set);
    sf_put_u8(b, st.kbd_leds);
    sf_put_u8(b, st.aux_expect);
    sf_put_u8(b, st.aux_reporting);
    sf_put_u8(b, st.aux_rate);
    sf_put_u8(b, st.aux_res);
    sf_put_u8(b, st.aux_scaling);
    return 0;
}

int machine_load_i8042(struct machine *m, struct sf_in *in)
{
    struct i8042_state st;
    st.ctr = sf_get_u8(in);
    st.status_cmd = sf_get_u8(in);
    st.pending_cmd = sf_get_u8(in);
    st.obuf = sf_get_u8(in);
    st.obuf_full = get_bool(in);
    st.obuf_aux = get_bool(in);
    get_queue(in, &st.ctrl_q);
    get_queue(in, &st.kbd_q);
    get_queue(in, &st.aux_q);
    for (unsigned i = 0; i < I8042_QUEUE_SIZE; i++)
        st.ctrl_q_aux[i] = get_bool(in);
    st.kbd_expect = sf_get_u8(in);
    st.kbd_scanning = get_bool(in);
    st.kbd_set = sf_get_u8(in);
    st.kbd_leds = sf_get_u8(in);
    st.aux_expect = sf_get_u8(in);
    st.aux_reporting = get_bool(in);
    st.aux_rate = sf_get_u8(in);
    st.aux_res = sf_get_u8(in);
    st.aux_scaling = sf_get_u8(in);
    return sf_in_end(in) < 0 ? -EINVAL : i8042_load(m->i8042, &st);
}

int machine_save_port92(struct machine *m, struct sf_buf *b)
{
    port92_save(m->port92, b);
    return 0;
}

int machine_load_port92(struct machine *m, struct sf_in *in)
{
    return port92_load(m->port92, in);
}

/* isa-debug-exit has no state: its section is empty. */
int machine_save_nothing(struct machine *m, struct sf_buf *b)
{
    (void)m;
    (void)b;
    return 0;
}

int machine_load_nothing(struct machine *m, struct sf_in *in)
{
    (void)m;
    return sf_in_end(in);
}

int machine_save_acpi_pm(struct machine *m, struct sf_buf *b)
{
    struct acpi_pm_state st;
    acpi_pm_save(m->acpi_pm, &st);
    sf_put_u16(b, st.pm1_sts);
    sf_put_u16(b, st.pm1_en);
    sf_put_u16(b, st.pm1_cnt);
    sf_put_u32(b, st.gpe_sts);
    sf_put_u32(b, st.gpe_en);
    sf_put_u32(b, st.tmr);
    return 0;
}

int machine_load_acpi_pm(struct machine *m, struct sf_in *in)
{
    struct acpi_pm_state st;
    st.pm1_sts = sf_get_u16(in);
    st.pm1_en = sf_get_u16(in);
    st.pm1_cnt = sf_get_u16(in);
    st.gpe_sts = sf_get_u32(in);
    st.gpe_en = sf_get_u32(in);
    st.tmr = sf_get_u32(in);
    return sf_in_end(in) < 0 ? -EINVAL : acpi_pm_load(m->acpi_pm, &st);
}

int machine_save_rtc(struct machine *m, struct sf_buf *b)
{
    struct cmos_rtc_state st;
    cmos_rtc_save(m->rtc, &st);
    sf_put_bytes(b, st.cmos, sizeof(st.cmos));
    sf_put_u8(b, st.index);
    sf_put_u64(b, (uint64_t)st.offset_ns);
    return 0;
}

int machine_load_rtc(struct machine *m, struct sf_in *in)
{
    struct cmos_rtc_state st;
    sf_get_bytes(in, st.cmos, sizeof(st.cmos));
    st.index = sf_get_u8(in);
    st.offset_ns = (int64_t)sf_get_u64(in);
    return sf_in_end(in) < 0 ? -EINVAL : cmos_rtc_load(m->rtc, &st);
}

/* The host bridge and every function's config space; each virtio function's own state is a
 * section of its own (machine_state.c). */
int machine_save_pci(struct machine *m, struct sf_buf *b)
{
    pci_host_save(m->pci, b);
    return 0;
}

int machine_load_pci(struct machine *m, struct sf_in *in)
{
    return pci_host_load(m->pci, in);
}
