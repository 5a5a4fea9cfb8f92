/* SPDX-License-Identifier: MIT */
/*
 * Implementation of dev/legacy/legacy_state.h: the saved-state sections of COM1, the i8042,
 * the ACPI PM block and the CMOS RTC, field by field in the order below (little-endian; a bool
 * is one byte, 0 or 1). A load reads the whole section before the device's own load checks
 * the values.
 */
#include "dev/legacy/legacy_state.h"

#include <errno.h>

/* A bool as one byte 0 or 1; anything else marks (in) bad. */
static bool get_bool(struct sf_in *in)
{
    uint8_t v = sf_get_u8(in);
    if (v > 1)
        in->bad = true;
    return v == 1;
}

void uart8250_save_state(struct uart8250 *u, struct sf_buf *b)
{
    struct uart8250_state st;
    uart8250_save(u, &st);
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
}

int uart8250_load_state(struct uart8250 *u, struct sf_in *in)
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
    return sf_in_end(in) < 0 ? -EINVAL : uart8250_load(u, &st);
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

void i8042_save_state(struct i8042 *k, struct sf_buf *b)
{
    struct i8042_state st;
    i8042_save(k, &st);
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
    sf_put_u8(b, st.kbd_typematic);
    sf_put_u8(b, st.aux_id);
    sf_put_bytes(b, st.aux_rates, sizeof(st.aux_rates));
}

int i8042_load_state(struct i8042 *k, struct sf_in *in)
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
    st.kbd_typematic = sf_get_u8(in);
    st.aux_id = sf_get_u8(in);
    sf_get_bytes(in, st.aux_rates, sizeof(st.aux_rates));
    return sf_in_end(in) < 0 ? -EINVAL : i8042_load(k, &st);
}

void acpi_pm_save_state(struct acpi_pm *pm, struct sf_buf *b)
{
    struct acpi_pm_state st;
    acpi_pm_save(pm, &st);
    sf_put_u16(b, st.pm1_sts);
    sf_put_u16(b, st.pm1_en);
    sf_put_u16(b, st.pm1_cnt);
    sf_put_u32(b, st.gpe_sts);
    sf_put_u32(b, st.gpe_en);
    sf_put_u32(b, st.tmr);
}

int acpi_pm_load_state(struct acpi_pm *pm, struct sf_in *in)
{
    struct acpi_pm_state st;
    st.pm1_sts = sf_get_u16(in);
    st.pm1_en = sf_get_u16(in);
    st.pm1_cnt = sf_get_u16(in);
    st.gpe_sts = sf_get_u32(in);
    st.gpe_en = sf_get_u32(in);
    st.tmr = sf_get_u32(in);
    return sf_in_end(in) < 0 ? -EINVAL : acpi_pm_load(pm, &st);
}

void cmos_rtc_save_state(struct cmos_rtc *rtc, struct sf_buf *b)
{
    struct cmos_rtc_state st;
    cmos_rtc_save(rtc, &st);
    sf_put_bytes(b, st.cmos, sizeof(st.cmos));
    sf_put_u8(b, st.index);
    sf_put_u64(b, (uint64_t)st.offset_ns);
}

int cmos_rtc_load_state(struct cmos_rtc *rtc, struct sf_in *in)
{
    struct cmos_rtc_state st;
    sf_get_bytes(in, st.cmos, sizeof(st.cmos));
    st.index = sf_get_u8(in);
    st.offset_ns = (int64_t)sf_get_u64(in);
    return sf_in_end(in) < 0 ? -EINVAL : cmos_rtc_load(rtc, &st);
}

/* The host bridge and every function's config space; each virtio function's own state is a
 * section of its own (machine_state.c). */
