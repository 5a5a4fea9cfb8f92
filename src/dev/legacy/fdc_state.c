/* SPDX-License-Identifier: MIT */
/*
 * The floppy controller's saved state (dev/legacy/fdc.h): registers, phases, the command and
 * result bytes, the interrupt, the configuration, a planned execution phase not yet started,
 * and the drive's head and disk change line. A block request in flight is not saved: save
 * refuses (-EBUSY) until it completes. The disk is the one the restoring monitor's options
 * give; when one side had a disk and the other not, the disk change line is raised.
 */
#include <errno.h>
#include <string.h>

#include "base/statefile.h"
#include "dev/legacy/fdc_internal.h"

static void put_plan(struct sf_buf *b, const struct fdc_plan *p)
{
    sf_put_u8(b, (uint8_t)p->op);
    sf_put_u8(b, p->ds);
    sf_put_u8(b, p->hd);
    sf_put_u8(b, p->c);
    sf_put_u8(b, p->h);
    sf_put_u8(b, p->r);
    sf_put_u8(b, p->last);
    sf_put_u8(b, p->is_mt);
    sf_put_u8(b, p->is_past_eot);
    sf_put_u8(b, p->fill);
    sf_put_u32(b, p->nsect);
    sf_put_u64(b, p->offset);
}

static void get_plan(struct sf_in *in, struct fdc_plan *p, uint8_t *flags)
{
    p->op = (enum fdc_op)sf_get_u8(in);
    p->ds = sf_get_u8(in);
    p->hd = sf_get_u8(in);
    p->c = sf_get_u8(in);
    p->h = sf_get_u8(in);
    p->r = sf_get_u8(in);
    p->last = sf_get_u8(in);
    flags[0] = sf_get_u8(in);
    flags[1] = sf_get_u8(in);
    p->is_mt = flags[0] != 0;
    p->is_past_eot = flags[1] != 0;
    p->fill = sf_get_u8(in);
    p->nsect = sf_get_u32(in);
    p->offset = sf_get_u64(in);
}

int fdc_save(struct fdc *f, struct sf_buf *b)
{
    pthread_mutex_lock(&f->lock);
    if (f->in_flight > 0) {
        pthread_mutex_unlock(&f->lock);
        return -EBUSY;
    }
    sf_put_u8(b, f->dor);
    sf_put_u8(b, f->tdr);
    sf_put_u8(b, f->rate);
    sf_put_u8(b, (uint8_t)f->phase);
    sf_put_bytes(b, f->cmd, sizeof(f->cmd));
    sf_put_u8(b, (uint8_t)f->cmd_len);
    sf_put_u8(b, (uint8_t)f->cmd_pos);
    sf_put_bytes(b, f->res, sizeof(f->res));
    sf_put_u8(b, (uint8_t)f->res_len);
    sf_put_u8(b, (uint8_t)f->res_pos);
    sf_put_u8(b, f->is_irq_pending);
    sf_put_u8(b, f->has_seek_status);
    sf_put_u8(b, f->seek_st0);
    sf_put_u8(b, f->seek_pcn);
    sf_put_u8(b, (uint8_t)f->reset_senses);
    sf_put_bytes(b, f->specify, sizeof(f->specify));
    sf_put_u8(b, f->config);
    sf_put_u8(b, f->pretrk);
    sf_put_u8(b, f->perp);
    sf_put_u8(b, f->is_locked);
    sf_put_u8(b, f->is_queued);
    put_plan(b, &f->plan);
    sf_put_u8(b, f->drv.cyl);
    sf_put_u8(b, f->drv.head);
    sf_put_u8(b, f->drv.sect);
    sf_put_u8(b, f->drv.has_changed);
    sf_put_u8(b, f->drv.geo != NULL);
    pthread_mutex_unlock(&f->lock);
    return 0;
}

/* The loaded state (s) is one the controller could be in. */
static bool is_valid(const struct fdc *s, const uint8_t *flags, unsigned nflags)
{
    for (unsigned i = 0; i < nflags; i++)
        if (flags[i] > 1)
            return false;
    if (s->phase > FDC_PHASE_RESULT || s->cmd_len > FDC_CMD_MAX || s->res_len > FDC_RES_MAX ||
        s->res_pos > s->res_len || s->reset_senses > 4 || s->rate > 3 || s->tdr > 3)
        return false;
    if (s->phase == FDC_PHASE_COMMAND ? s->cmd_pos >= FDC_CMD_MAX || s->cmd_pos > s->cmd_len
                                      : s->cmd_pos != 0)
        return false;
    if (s->phase == FDC_PHASE_RESULT && s->res_pos >= s->res_len)
        return false;
    /* an execution phase is a plan waiting for fdc_service, nothing else */
    if ((s->phase == FDC_PHASE_EXEC) != s->is_queued)
        return false;
    if (s->is_queued && (s->plan.op == FDC_OP_NONE || s->plan.op > FDC_OP_FORMAT ||
                         s->plan.nsect == 0 || s->plan.nsect > FDC_MAX_SECTORS || s->plan.ds > 3 ||
                         s->plan.hd > 1 || s->plan.offset % FDC_SECTOR_SIZE))
        return false;
    return true;
}

int fdc_load(struct fdc *f, struct sf_in *in)
{
    struct fdc s;
    uint8_t flags[8], had_media;
    memset(&s, 0, sizeof(s));
    s.dor = sf_get_u8(in);
    s.tdr = sf_get_u8(in);
    s.rate = sf_get_u8(in);
    s.phase = (enum fdc_phase)sf_get_u8(in);
    sf_get_bytes(in, s.cmd, sizeof(s.cmd));
    s.cmd_len = sf_get_u8(in);
    s.cmd_pos = sf_get_u8(in);
    sf_get_bytes(in, s.res, sizeof(s.res));
    s.res_len = sf_get_u8(in);
    s.res_pos = sf_get_u8(in);
    flags[0] = sf_get_u8(in);
    flags[1] = sf_get_u8(in);
    s.seek_st0 = sf_get_u8(in);
    s.seek_pcn = sf_get_u8(in);
    s.reset_senses = sf_get_u8(in);
    sf_get_bytes(in, s.specify, sizeof(s.specify));
    s.config = sf_get_u8(in);
    s.pretrk = sf_get_u8(in);
    s.perp = sf_get_u8(in);
    flags[2] = sf_get_u8(in);
    flags[3] = sf_get_u8(in);
    get_plan(in, &s.plan, &flags[4]);
    s.drv.cyl = sf_get_u8(in);
    s.drv.head = sf_get_u8(in);
    s.drv.sect = sf_get_u8(in);
    flags[6] = sf_get_u8(in);
    had_media = flags[7] = sf_get_u8(in);
    s.is_irq_pending = flags[0];
    s.has_seek_status = flags[1];
    s.is_locked = flags[2];
    s.is_queued = flags[3];
    if (sf_in_end(in) < 0 || !is_valid(&s, flags, 8) || s.drv.head > 1)
        return -EINVAL;
    pthread_mutex_lock(&f->lock);
    f->dor = s.dor;
    f->tdr = s.tdr;
    f->rate = s.rate;
    f->phase = s.phase;
    memcpy(f->cmd, s.cmd, sizeof(f->cmd));
    f->cmd_len = s.cmd_len;
    f->cmd_pos = s.cmd_pos;
    memcpy(f->res, s.res, sizeof(f->res));
    f->res_len = s.res_len;
    f->res_pos = s.res_pos;
    f->is_irq_pending = s.is_irq_pending;
    f->has_seek_status = s.has_seek_status;
    f->seek_st0 = s.seek_st0;
    f->seek_pcn = s.seek_pcn;
    f->reset_senses = s.reset_senses;
    memcpy(f->specify, s.specify, sizeof(f->specify));
    f->config = s.config;
    f->pretrk = s.pretrk;
    f->perp = s.perp;
    f->is_locked = s.is_locked;
    f->is_queued = s.is_queued;
    f->plan = s.plan;
    f->drv.cyl = s.drv.cyl;
    f->drv.head = s.drv.head;
    f->drv.sect = s.drv.sect;
    f->drv.has_changed = flags[6] || (had_media != 0) != (f->drv.geo != NULL);
    f->gen++;
    f->irq_level = !f->is_irq_pending; /* forces the line to be set either way */
    fdc_update_irq(f);
    if (f->is_queued)
        f->kick(f->kick_opaque, f);
    pthread_mutex_unlock(&f->lock);
    return 0;
}
