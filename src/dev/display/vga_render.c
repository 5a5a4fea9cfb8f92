/* SPDX-License-Identifier: MIT */
/*
 * Rendering for dev/display/vga.h: the registers are copied into a struct vga_mode (text mode
 * with the font from plane 2, the 256-colour chain-4 mode 13h, 16-colour planar modes, and
 * the dispi modes at 8, 15, 16, 24 and 32 bpp), then every line touched by a dirty page of
 * video memory (or every line, after a register change) is converted to XRGB8888 and compared
 * with the frame tile by tile: only tiles whose pixels differ are copied and marked, so an
 * idle screen costs one dirty-log query and nothing else.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "dev/display/vga_internal.h"

/* The CRTC's vertical display end (10 bits over CR12 and CR07) plus one. */
static unsigned crtc_lines(const struct vga *v)
{
    return (v->crtc[0x12] | (v->crtc[7] & 0x02) << 7 | (v->crtc[7] & 0x40) << 3) + 1u;
}

static void text_snapshot(struct vga *v, struct vga_mode *m)
{
    unsigned sr3 = v->seq[3];
    m->kind = VGA_KIND_TEXT;
    m->cols = MIN(v->crtc[1] + 1u, 132u);
    m->char_width = (v->seq[1] & 1) ? 8 : 9;
    m->char_height = (v->crtc[9] & 0x1f) + 1u;
    m->rows = MIN(crtc_lines(v) / m->char_height, 60u);
    m->width = m->cols * m->char_width;
    m->height = m->rows * m->char_height;
    m->start_bytes = 4ULL * (v->crtc[0x0d] | v->crtc[0x0c] << 8);
    m->line_bytes = (uint64_t)v->crtc[0x13] << 3;
    m->font_offset[0] = (((sr3 >> 4) & 1) | ((sr3 << 1) & 6)) * 8192u * 4 + 2;
    m->font_offset[1] = (((sr3 >> 5) & 1) | ((sr3 >> 1) & 6)) * 8192u * 4 + 2;
    unsigned cursor = (unsigned)(v->crtc[0x0e] << 8 | v->crtc[0x0f]);
    unsigned start = (unsigned)(v->crtc[0x0c] << 8 | v->crtc[0x0d]);
    m->cursor = (v->crtc[0x0a] & 0x20) || cursor < start ? UINT_MAX : cursor - start;
    m->cursor_start = v->crtc[0x0a] & 0x1f;
    m->cursor_end = v->crtc[0x0b] & 0x1f;
}

/* The 16 attribute colours through the DAC (AR10 bit 7 selects AR14's colour select use). */
static void attr_palette(struct vga *v, struct vga_mode *m)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned idx = v->ar[i];
        if (v->ar[0x10] & AR10_PAL_SELECT)
            idx = (v->ar[0x14] & 0xfu) << 4 | (idx & 0xf);
        else
            idx = (v->ar[0x14] & 0xcu) << 4 | (idx & 0x3f);
        m->palette[i] = vga_dac_rgb(v, idx, false);
    }
}

void vga_snapshot(struct vga *v, struct vga_mode *m)
{
    memset(m, 0, sizeof(*m));
    m->gen = v->gen;
    m->cursor = UINT_MAX;
    if (vga_vbe_snapshot(v, m) || !v->has_legacy)
        return;
    if (!(v->ar_index & AR_INDEX_VIDEO_ON) || v->crtc[1] == 0) {
        m->kind = VGA_KIND_OFF;
        return;
    }
    if (!(v->gr[6] & GR06_GRAPHICS)) {
        text_snapshot(v, m);
        attr_palette(v, m);
        return;
    }
    unsigned scan = ((v->crtc[9] & 0x1f) + 1u) * ((v->crtc[9] & 0x80) ? 2u : 1u);
    m->height = MIN(crtc_lines(v) / scan, 1024u); /* 10 bits of CRTC lines */
    m->start_bytes = 4ULL * (v->crtc[0x0d] | v->crtc[0x0c] << 8);
    m->line_bytes = (uint64_t)v->crtc[0x13] << 3;
    if (v->gr[5] & GR05_SHIFT256) {
        m->kind = VGA_KIND_GFX256;
        m->width = (v->crtc[1] + 1u) * 4;
        for (unsigned i = 0; i < 256; i++)
            m->palette[i] = vga_dac_rgb(v, i, false);
    } else {
        m->kind = VGA_KIND_PLANAR;
        m->width = (v->crtc[1] + 1u) * 8;
        attr_palette(v, m);
    }
}

/* Sets up the frame for (w x h); true when it changed size. Frame lock held. */
static int frame_size(struct vga *v, unsigned w, unsigned h, bool *is_new)
{
    *is_new = false;
    if (w == v->width && h == v->height && v->frame != NULL)
        return 0;
    unsigned tx = (w + VGA_TILE - 1) / VGA_TILE, ty = (h + VGA_TILE - 1) / VGA_TILE;
    uint32_t *frame = calloc((size_t)MAX(w, 1u) * MAX(h, 1u), sizeof(uint32_t));
    uint64_t *tiles = calloc(((size_t)tx * ty + 63) / 64 + 1, sizeof(uint64_t));
    if (frame == NULL || tiles == NULL) {
        free(frame);
        free(tiles);
        return -ENOMEM;
    }
    free(v->frame);
    free(v->tiles);
    v->frame = frame;
    v->tiles = tiles;
    v->width = w;
    v->height = h;
    v->tiles_x = tx;
    v->tiles_y = ty;
    v->is_resized = true;
    *is_new = true;
    return 0;
}

static bool pages_dirty(const struct vga *v, uint64_t off, uint64_t len)
{
    uint64_t last = MIN(off + len, v->vram_bytes) - 1;
    for (uint64_t p = off / VGA_PAGE_BYTES; p <= last / VGA_PAGE_BYTES; p++)
        if (v->dirty[p / 64] & (1ULL << (p % 64)))
            return true;
    return false;
}

static void mark_tile(struct vga *v, unsigned x, unsigned y)
{
    size_t t = (size_t)(y / VGA_TILE) * v->tiles_x + x / VGA_TILE;
    v->tiles[t / 64] |= 1ULL << (t % 64);
}

/* Copies (line) (w pixels) into frame row (y) where it differs, marking the tiles touched.
 * Frame lock held. Returns true when something changed. */
static bool put_line(struct vga *v, unsigned y, const uint32_t *line, unsigned w)
{
    bool is_changed = false;
    uint32_t *row = &v->frame[(size_t)y * v->width];
    for (unsigned x = 0; x < w; x += VGA_TILE) {
        unsigned n = MIN((unsigned)VGA_TILE, w - x);
        if (memcmp(&row[x], &line[x], n * sizeof(uint32_t)) == 0)
            continue;
        memcpy(&row[x], &line[x], n * sizeof(uint32_t));
        mark_tile(v, x, y);
        is_changed = true;
    }
    return is_changed;
}

static uint32_t rgb565(uint32_t p)
{
    uint32_t r = (p >> 11) & 0x1f, g = (p >> 5) & 0x3f, b = p & 0x1f;
    return (r << 3 | r >> 2) << 16 | (g << 2 | g >> 4) << 8 | (b << 3 | b >> 2);
}

static uint32_t rgb555(uint32_t p)
{
    uint32_t r = (p >> 10) & 0x1f, g = (p >> 5) & 0x1f, b = p & 0x1f;
    return (r << 3 | r >> 2) << 16 | (g << 3 | g >> 2) << 8 | (b << 3 | b >> 2);
}

/* Converts (w) pixels at (src) in (bpp) to XRGB8888. */
static void convert_line(uint32_t *dst, const uint8_t *src, unsigned w, unsigned bpp,
                         const uint32_t *palette)
{
    for (unsigned x = 0; x < w; x++) {
        switch (bpp) {
        case 8:
            dst[x] = palette[src[x]];
            break;
        case 15:
            dst[x] = rgb555((uint32_t)(src[2 * x] | src[2 * x + 1] << 8));
            break;
        case 16:
            dst[x] = rgb565((uint32_t)(src[2 * x] | src[2 * x + 1] << 8));
            break;
        case 24:
            dst[x] = (uint32_t)(src[3 * x] | src[3 * x + 1] << 8 | src[3 * x + 2] << 16);
            break;
        default:
            dst[x] = (uint32_t)(src[4 * x] | src[4 * x + 1] << 8 | src[4 * x + 2] << 16);
            break;
        }
    }
}

/* One line of a 16-colour planar mode: 8 pixels per VGA word, plane p giving bit p. */
static void planar_line(const struct vga *v, uint32_t *dst, uint64_t word, unsigned w,
                        const uint32_t *palette)
{
    for (unsigned x = 0; x < w; x++) {
        uint64_t byte = 4 * (word + x / 8);
        unsigned idx = 0;
        if (byte + 3 < v->vram_bytes)
            for (unsigned p = 0; p < 4; p++)
                idx |= ((v->vram[byte + p] >> (7 - x % 8)) & 1u) << p;
        dst[x] = palette[idx];
    }
}

static bool render_lines(struct vga *v, const struct vga_mode *m, bool is_full)
{
    bool is_changed = false;
    unsigned bpp = m->kind == VGA_KIND_VBE ? m->bpp : 8;
    uint64_t row_bytes =
        m->kind == VGA_KIND_PLANAR ? (m->width + 7) / 8 * 4 : (uint64_t)m->width * ((bpp + 7) / 8);
    for (unsigned y = 0; y < m->height; y++) {
        uint64_t off = m->start_bytes + y * m->line_bytes;
        if (off >= v->vram_bytes || row_bytes > v->vram_bytes - off) {
            memset(v->line, 0, m->width * sizeof(uint32_t)); /* past video memory: black */
        } else if (!is_full && !pages_dirty(v, off, row_bytes)) {
            continue;
        } else if (m->kind == VGA_KIND_PLANAR) {
            planar_line(v, v->line, off / 4, m->width, m->palette);
        } else {
            convert_line(v->line, v->vram + off, m->width, bpp, m->palette);
        }
        is_changed |= put_line(v, y, v->line, m->width);
    }
    return is_changed;
}

/* Draws character cell (col, row) through the scratch row (cell). Frame lock held. */
static bool render_cell(struct vga *v, const struct vga_mode *m, unsigned col, unsigned row,
                        uint32_t *cell)
{
    uint64_t word = m->start_bytes + row * m->line_bytes + 4ULL * col;
    uint8_t ch = 0, attr = 0;
    if (word + 1 < v->vram_bytes) {
        ch = v->vram[word];
        attr = v->vram[word + 1];
    }
    uint64_t glyph = m->font_offset[(attr >> 3) & 1] + 4ULL * 32 * ch;
    uint32_t fg = m->palette[attr & 0xf], bg = m->palette[attr >> 4 & 0xf];
    bool is_cursor = m->cursor == row * m->cols + col;
    bool is_changed = false;
    unsigned x0 = col * m->char_width, cw = m->char_width;
    for (unsigned yy = 0; yy < m->char_height; yy++) {
        unsigned y = row * m->char_height + yy;
        uint8_t bits = glyph + 4ULL * yy < v->vram_bytes ? v->vram[glyph + 4ULL * yy] : 0;
        if (is_cursor && yy >= m->cursor_start && yy <= m->cursor_end)
            bits = 0xff;
        for (unsigned xx = 0; xx < cw; xx++) {
            /* the ninth column repeats the eighth for the line-drawing characters */
            bool is_on = xx < 8 ? (bits >> (7 - xx)) & 1 : (ch >= 0xc0 && ch <= 0xdf && (bits & 1));
            cell[xx] = is_on ? fg : bg;
        }
        uint32_t *dst = &v->frame[(size_t)y * v->width + x0];
        if (memcmp(dst, cell, cw * sizeof(uint32_t)) == 0)
            continue;
        memcpy(dst, cell, cw * sizeof(uint32_t));
        mark_tile(v, x0, y);
        mark_tile(v, x0 + cw - 1, y);
        is_changed = true;
    }
    return is_changed;
}

static bool render_text(struct vga *v, const struct vga_mode *m, bool is_full)
{
    bool is_changed = false;
    size_t words = v->npages; /* any dirty page may hold text or font: scan the whole map */
    bool is_dirty = is_full;
    for (size_t i = 0; !is_dirty && i < (words + 63) / 64; i++)
        is_dirty = v->dirty[i] != 0;
    if (!is_dirty)
        return false;
    for (unsigned row = 0; row < m->rows; row++)
        for (unsigned col = 0; col < m->cols; col++)
            is_changed |= render_cell(v, m, col, row, v->line);
    return is_changed;
}

bool vga_refresh(struct vga *v)
{
    struct vga_mode *m = &v->mode;
    bool is_new = false, is_changed = false;
    size_t nwords = (v->npages + 63) / 64;

    pthread_mutex_lock(&v->frame_lock);
    pthread_mutex_lock(&v->lock);
    vga_snapshot(v, m);
    memcpy(v->dirty, v->soft_dirty, nwords * sizeof(uint64_t));
    memset(v->soft_dirty, 0, nwords * sizeof(uint64_t));
    pthread_mutex_unlock(&v->lock);
    if (v->host && v->host->get_dirty)
        (void)v->host->get_dirty(v->host_opaque, v->dirty, v->npages);
    /* a blank screen is shown as 640x480 of black */
    unsigned w = m->kind == VGA_KIND_OFF ? 640 : m->width;
    unsigned h = m->kind == VGA_KIND_OFF ? 480 : m->height;
    if (frame_size(v, MAX(w, 1u), MAX(h, 1u), &is_new) < 0)
        goto out_unlock;
    bool is_full = is_new || m->gen != v->drawn_gen || m->kind != v->drawn_kind;
    v->drawn_gen = m->gen;
    v->drawn_kind = m->kind;
    switch (m->kind) {
    case VGA_KIND_TEXT:
        is_changed = render_text(v, m, is_full);
        break;
    case VGA_KIND_OFF:
        if (is_full)
            for (unsigned y = 0; y < v->height; y++) {
                memset(v->line, 0, v->width * sizeof(uint32_t));
                is_changed |= put_line(v, y, v->line, v->width);
            }
        break;
    default:
        is_changed = render_lines(v, m, is_full);
        break;
    }
out_unlock:
    is_changed |= v->is_resized;
    pthread_mutex_unlock(&v->frame_lock);
    return is_changed;
}

void vga_frame_lock(struct vga *v, struct vga_frame *out)
{
    pthread_mutex_lock(&v->frame_lock);
    out->pixels = v->frame;
    out->width = v->frame ? v->width : 0;
    out->height = v->frame ? v->height : 0;
}

void vga_frame_unlock(struct vga *v)
{
    pthread_mutex_unlock(&v->frame_lock);
}

static bool tile_is_set(const struct vga *v, unsigned tx, unsigned ty)
{
    size_t t = (size_t)ty * v->tiles_x + tx;
    return (v->tiles[t / 64] >> (t % 64)) & 1;
}

unsigned vga_take_dirty(struct vga *v, vga_rect_fn fn, void *opaque, bool *is_resized)
{
    unsigned n = 0;
    *is_resized = v->is_resized;
    v->is_resized = false;
    if (v->frame == NULL)
        return 0;
    for (unsigned ty = 0; ty < v->tiles_y; ty++) {
        for (unsigned tx = 0; tx < v->tiles_x; tx++) {
            if (!*is_resized && !tile_is_set(v, tx, ty))
                continue;
            unsigned end = tx + 1; /* a run of changed tiles on this tile row is one rectangle */
            while (end < v->tiles_x && (*is_resized || tile_is_set(v, end, ty)))
                end++;
            unsigned x = tx * VGA_TILE, y = ty * VGA_TILE;
            fn(opaque, x, y, MIN(end * VGA_TILE, v->width) - x, MIN(y + VGA_TILE, v->height) - y);
            n++;
            tx = end;
        }
    }
    memset(v->tiles, 0, ((size_t)v->tiles_x * v->tiles_y + 63) / 64 * sizeof(uint64_t));
    return n;
}

/* Code page 437 to ASCII for the text screenshot: line drawing as + - |, the arrows and
 * triangles (GRUB's "Use the ^ and v keys") as ^ v < >. */
static char cp437_ascii(uint8_t c)
{
    if (c >= 0x20 && c < 0x7f)
        return (char)c;
    if (c == 0x18 || c == 0x1e)
        return '^';
    if (c == 0x19 || c == 0x1f)
        return 'v';
    if (c == 0x1a || c == 0x10)
        return '>';
    if (c == 0x1b || c == 0x11)
        return '<';
    if (c == 0 || c == 0xff)
        return ' ';
    if (c == 0xb3 || c == 0xba)
        return '|';
    if (c == 0xc4 || c == 0xcd)
        return '-';
    if (c >= 0xb4 && c <= 0xda)
        return '+';
    if (c >= 0xb0 && c <= 0xb2)
        return '#';
    return '.';
}

int vga_text(struct vga *v, char *buf, size_t size, unsigned *rows, unsigned *cols)
{
    struct vga_mode *m = malloc(sizeof(*m));
    size_t len = 0;
    int ret = 0;
    if (m == NULL)
        return -ENOMEM;
    pthread_mutex_lock(&v->lock);
    vga_snapshot(v, m);
    pthread_mutex_unlock(&v->lock);
    if (m->kind != VGA_KIND_TEXT) {
        free(m);
        return -ENOTSUP;
    }
    for (unsigned r = 0; r < m->rows && ret == 0; r++) {
        size_t line_start = len, last = len;
        for (unsigned c = 0; c < m->cols; c++) {
            uint64_t word = m->start_bytes + r * m->line_bytes + 4ULL * c;
            char ch = word < v->vram_bytes ? cp437_ascii(v->vram[word]) : ' ';
            if (len + 2 >= size) {
                ret = -ENOSPC;
                break;
            }
            buf[len++] = ch;
            if (ch != ' ')
                last = len;
        }
        len = ret == 0 ? last : line_start;
        if (ret == 0)
            buf[len++] = '\n';
    }
    *rows = m->rows;
    *cols = m->cols;
    free(m);
    if (size > 0)
        buf[MIN(len, size - 1)] = '\0';
    return ret < 0 ? ret : (int)len;
}

const char *vga_mode_name(struct vga *v, unsigned *width, unsigned *height, unsigned *bpp)
{
    static const char *const names[] = {[VGA_KIND_OFF] = "off",
                                        [VGA_KIND_TEXT] = "text",
                                        [VGA_KIND_GFX256] = "vga",
                                        [VGA_KIND_VBE] = "vbe",
                                        [VGA_KIND_PLANAR] = "vga"};
    struct vga_mode *m = malloc(sizeof(*m));
    if (m == NULL)
        return "off";
    pthread_mutex_lock(&v->lock);
    vga_snapshot(v, m);
    pthread_mutex_unlock(&v->lock);
    const char *name = names[m->kind];
    *width = m->width;
    *height = m->height;
    *bpp = m->kind == VGA_KIND_VBE ? m->bpp : m->kind == VGA_KIND_PLANAR ? 4 : 8;
    free(m);
    return name;
}
