# SPDX-License-Identifier: MIT
"""A small RFB 3.8 client (RFC 6143) for the display tests: no authentication or VNC
authentication (DES, RFC 6143 §7.2.2, with the bit-reversed key), raw and zlib encodings and
the DesktopSize pseudo-encoding; it keeps the framebuffer as rows of 0xRRGGBB integers (unless
`decode` is False: the benchmarks only count bytes and rectangles).
Also a minimal PNG reader (8-bit RGB, the five filters) for comparing screenshots."""
import socket
import struct
import zlib

ENC_RAW = 0
ENC_ZLIB = 6
ENC_DESKTOP_SIZE = -223
ENC_COMPRESS_LEVEL_0 = -256  # + 0..9: the zlib level a viewer asks for (rfbproto)


class RfbError(Exception):
    pass


class RfbClient:
    def __init__(self, path=None, addr=None, password=None, timeout=10.0, encodings=(ENC_RAW,)):
        """encodings: the ones asked for, in order of preference (raw is always understood)."""
        if path is not None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(path)
        else:
            self.sock = socket.create_connection(addr, timeout=timeout)
        self.bytes_received = 0
        self.decode = True
        self._zlib = zlib.decompressobj()
        self._handshake(password, tuple(encodings))

    def close(self):
        self.sock.close()

    def recv_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(min(n - len(buf), 1 << 20))
            if not chunk:
                raise RfbError("connection closed")
            buf += chunk
        self.bytes_received += n
        return bytes(buf)

    def _handshake(self, password, encodings):
        version = self.recv_exact(12)
        if not version.startswith(b"RFB 003."):
            raise RfbError(f"bad version {version!r}")
        self.sock.sendall(b"RFB 003.008\n")
        n = self.recv_exact(1)[0]
        if n == 0:
            raise RfbError("server refused: " + self._reason())
        types = self.recv_exact(n)
        if password is None:
            if 1 not in types:
                raise RfbError(f"no 'None' security type in {list(types)}")
            self.sock.sendall(b"\x01")
        else:
            if 2 not in types:
                raise RfbError(f"no VNC authentication in {list(types)}")
            self.sock.sendall(b"\x02")
            challenge = self.recv_exact(16)
            self.sock.sendall(vnc_des_response(password, challenge))
        if struct.unpack(">I", self.recv_exact(4))[0] != 0:
            raise RfbError("authentication failed: " + self._reason())
        self.sock.sendall(b"\x01")  # shared
        w, h = struct.unpack(">HH", self.recv_exact(4))
        self.server_format = self.recv_exact(16)
        name_len = struct.unpack(">I", self.recv_exact(4))[0]
        self.name = self.recv_exact(name_len).decode(errors="replace")
        self._resize(w, h)
        # 32 bpp, depth 24, little-endian, true colour, red at 16, green at 8, blue at 0
        pf = struct.pack(">BBBBHHHBBB3x", 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)
        self.sock.sendall(b"\x00\x00\x00\x00" + pf)
        encs = encodings + (ENC_DESKTOP_SIZE,)
        self.sock.sendall(struct.pack(f">BxH{len(encs)}i", 2, len(encs), *encs))

    def _reason(self):
        n = struct.unpack(">I", self.recv_exact(4))[0]
        return self.recv_exact(min(n, 4096)).decode(errors="replace")

    def _resize(self, w, h):
        self.width, self.height = w, h
        self.fb = [[0] * w for _ in range(h)]

    def request(self, incremental=False, x=0, y=0, w=None, h=None):
        w = self.width if w is None else w
        h = self.height if h is None else h
        self.sock.sendall(struct.pack(">BBHHHH", 3, int(incremental), x, y, w, h))

    def read_update(self):
        """Reads server messages up to and including one FramebufferUpdate; returns its
        rectangles as (x, y, w, h, encoding)."""
        while True:
            t = self.recv_exact(1)[0]
            if t == 0:
                break
            if t == 2:  # bell
                continue
            if t == 3:  # server cut text
                self.recv_exact(3)
                n = struct.unpack(">I", self.recv_exact(4))[0]
                self.recv_exact(n)
                continue
            if t == 1:  # colour map entries
                _, _, n = struct.unpack(">BHH", self.recv_exact(5))
                self.recv_exact(6 * n)
                continue
            raise RfbError(f"unexpected server message {t}")
        self.recv_exact(1)
        n = struct.unpack(">H", self.recv_exact(2))[0]
        rects = []
        for _ in range(n):
            x, y, w, h, enc = struct.unpack(">HHHHi", self.recv_exact(12))
            rects.append((x, y, w, h, enc))
            if enc == ENC_DESKTOP_SIZE:
                self._resize(w, h)
            elif enc in (ENC_RAW, ENC_ZLIB):
                if enc == ENC_RAW:
                    data = self.recv_exact(w * h * 4)
                else:  # zlib (encoding 6, rfbproto; not in RFC 6143): one stream a connection
                    n = struct.unpack(">I", self.recv_exact(4))[0]
                    data = self._zlib.decompress(self.recv_exact(n))
                    if len(data) != w * h * 4:
                        raise RfbError(f"zlib rectangle of {len(data)} bytes for {w}x{h}")
                if not self.decode:
                    continue
                for r in range(h):
                    row = struct.unpack_from(f"<{w}I", data, r * w * 4)
                    self.fb[y + r][x:x + w] = [p & 0xFFFFFF for p in row]
            else:
                raise RfbError(f"unexpected encoding {enc}")
        return rects

    def full_frame(self, rounds=20):
        """Asks for the whole screen until every pixel was sent once (after resizes)."""
        self.request(False)
        covered = set()
        for _ in range(rounds):
            for x, y, w, h, enc in self.read_update():
                if enc == ENC_DESKTOP_SIZE:
                    covered = set()
                    self.request(False)
                    break
                covered.add((x, y, w, h))
            area = sum(w * h for (_, _, w, h) in covered)
            if area >= self.width * self.height:
                return self.fb
            self.request(True)
        raise RfbError("the screen was never complete")

    def key(self, keysym, down):
        self.sock.sendall(struct.pack(">BBxxI", 4, int(down), keysym))

    def pointer(self, x, y, buttons=0):
        self.sock.sendall(struct.pack(">BBHH", 5, buttons, x, y))


def _reverse_bits(b):
    return int(f"{b:08b}"[::-1], 2)


def vnc_des_response(password, challenge):
    """VNC authentication: DES-encrypt the challenge with the password (8 bytes, bits of each
    byte reversed). Needs Debian's python3-cryptography or openssl; raises when neither."""
    import subprocess
    key = bytes(_reverse_bits(c) for c in password.encode()[:8].ljust(8, b"\0"))
    out = subprocess.run(["openssl", "enc", "-des-ecb", "-nopad", "-K", key.hex(),
                          "-provider", "legacy", "-provider", "default"],
                         input=challenge, capture_output=True, check=True)
    return out.stdout[:16]


def read_png(path):
    """Returns (width, height, rows of 0xRRGGBB) of an 8-bit RGB PNG."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            if depth != 8 or ctype != 2:
                raise ValueError("only 8-bit RGB")
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride, prev, rows = 3 * w, bytearray(3 * w), []
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - 3] if i >= 3 else 0
            b = prev[i]
            c = prev[i - 3] if i >= 3 else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xFF
            elif f == 2:
                line[i] = (line[i] + b) & 0xFF
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 0xFF
        rows.append([line[3 * x] << 16 | line[3 * x + 1] << 8 | line[3 * x + 2] for x in range(w)])
        prev = line
    return w, h, rows
