/* util/digest.c: SHA-1 and SHA-512 (FIPS 180-4 sections 6.1 and 6.4) and the
 * run-time choice between them and SHA-256. */
#include "util/digest.h"

#include <string.h>
#include <strings.h>

#define ROL32(x, n) (((x) << (n)) | ((x) >> (32 - (n))))
#define ROR64(x, n) (((x) >> (n)) | ((x) << (64 - (n))))

/* Feeds data to a block function through a partial-block buffer of bs bytes. */
static void absorb(uint8_t *buf, size_t *fill, size_t bs, const uint8_t *p, size_t len,
		   void (*block)(void *state, const uint8_t *p), void *state)
{
	if (*fill) {
		size_t take = bs - *fill < len ? bs - *fill : len;
		memcpy(buf + *fill, p, take);
		*fill += take;
		p += take;
		len -= take;
		if (*fill < bs)
			return;
		block(state, buf);
		*fill = 0;
	}
	for (; len >= bs; p += bs, len -= bs)
		block(state, p);
	memcpy(buf, p, len);
	*fill = len;
}

/* ---- SHA-1 ---- */

static void sha1_block(void *state, const uint8_t *p)
{
	struct sha1 *s = state;
	uint32_t w[80];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = ROL32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4];
	for (int i = 0; i < 80; i++) {
		uint32_t f, k;
		if (i < 20)
			f = (b & c) | (~b & d), k = 0x5a827999;
		else if (i < 40)
			f = b ^ c ^ d, k = 0x6ed9eba1;
		else if (i < 60)
			f = (b & c) | (b & d) | (c & d), k = 0x8f1bbcdc;
		else
			f = b ^ c ^ d, k = 0xca62c1d6;
		uint32_t t = ROL32(a, 5) + f + e + k + w[i];
		e = d;
		d = c;
		c = ROL32(b, 30);
		b = a;
		a = t;
	}
	s->h[0] += a;
	s->h[1] += b;
	s->h[2] += c;
	s->h[3] += d;
	s->h[4] += e;
}

void sha1_init(struct sha1 *s)
{
	static const uint32_t iv[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
	memcpy(s->h, iv, sizeof iv);
	s->len = 0;
	s->fill = 0;
}

void sha1_update(struct sha1 *s, const void *data, size_t len)
{
	s->len += len;
	absorb(s->buf, &s->fill, 64, data, len, sha1_block, s);
}

void sha1_final(struct sha1 *s, uint8_t out[20])
{
	uint64_t bits = s->len * 8;
	uint8_t pad[72] = {0x80};
	size_t padlen = s->fill < 56 ? 56 - s->fill : 120 - s->fill;
	sha1_update(s, pad, padlen);
	uint8_t lenbe[8];
	for (int i = 0; i < 8; i++)
		lenbe[i] = (uint8_t)(bits >> (56 - 8 * i));
	sha1_update(s, lenbe, 8);
	for (int i = 0; i < 5; i++)
		for (int j = 0; j < 4; j++)
			out[4 * i + j] = (uint8_t)(s->h[i] >> (24 - 8 * j));
}

/* ---- SHA-512 ---- */

static const uint64_t K512[80] = {
	0x428a2f98d728ae22ull, 0x7137449123ef65cdull, 0xb5c0fbcfec4d3b2full, 0xe9b5dba58189dbbcull,
	0x3956c25bf348b538ull, 0x59f111f1b605d019ull, 0x923f82a4af194f9bull, 0xab1c5ed5da6d8118ull,
	0xd807aa98a3030242ull, 0x12835b0145706fbeull, 0x243185be4ee4b28cull, 0x550c7dc3d5ffb4e2ull,
	0x72be5d74f27b896full, 0x80deb1fe3b1696b1ull, 0x9bdc06a725c71235ull, 0xc19bf174cf692694ull,
	0xe49b69c19ef14ad2ull, 0xefbe4786384f25e3ull, 0x0fc19dc68b8cd5b5ull, 0x240ca1cc77ac9c65ull,
	0x2de92c6f592b0275ull, 0x4a7484aa6ea6e483ull, 0x5cb0a9dcbd41fbd4ull, 0x76f988da831153b5ull,
	0x983e5152ee66dfabull, 0xa831c66d2db43210ull, 0xb00327c898fb213full, 0xbf597fc7beef0ee4ull,
	0xc6e00bf33da88fc2ull, 0xd5a79147930aa725ull, 0x06ca6351e003826full, 0x142929670a0e6e70ull,
	0x27b70a8546d22ffcull, 0x2e1b21385c26c926ull, 0x4d2c6dfc5ac42aedull, 0x53380d139d95b3dfull,
	0x650a73548baf63deull, 0x766a0abb3c77b2a8ull, 0x81c2c92e47edaee6ull, 0x92722c851482353bull,
	0xa2bfe8a14cf10364ull, 0xa81a664bbc423001ull, 0xc24b8b70d0f89791ull, 0xc76c51a30654be30ull,
	0xd192e819d6ef5218ull, 0xd69906245565a910ull, 0xf40e35855771202aull, 0x106aa07032bbd1b8ull,
	0x19a4c116b8d2d0c8ull, 0x1e376c085141ab53ull, 0x2748774cdf8eeb99ull, 0x34b0bcb5e19b48a8ull,
	0x391c0cb3c5c95a63ull, 0x4ed8aa4ae3418acbull, 0x5b9cca4f7763e373ull, 0x682e6ff3d6b2b8a3ull,
	0x748f82ee5defb2fcull, 0x78a5636f43172f60ull, 0x84c87814a1f0ab72ull, 0x8cc702081a6439ecull,
	0x90befffa23631e28ull, 0xa4506cebde82bde9ull, 0xbef9a3f7b2c67915ull, 0xc67178f2e372532bull,
	0xca273eceea26619cull, 0xd186b8c721c0c207ull, 0xeada7dd6cde0eb1eull, 0xf57d4f7fee6ed178ull,
	0x06f067aa72176fbaull, 0x0a637dc5a2c898a6ull, 0x113f9804bef90daeull, 0x1b710b35131c471bull,
	0x28db77f523047d84ull, 0x32caab7b40c72493ull, 0x3c9ebe0a15c9bebcull, 0x431d67c49c100d4cull,
	0x4cc5d4becb3e42b6ull, 0x597f299cfc657e2aull, 0x5fcb6fab3ad6faecull, 0x6c44198c4a475817ull};

static void sha512_block(void *state, const uint8_t *p)
{
	struct sha512 *s = state;
	uint64_t w[80];
	for (int i = 0; i < 16; i++) {
		w[i] = 0;
		for (int j = 0; j < 8; j++)
			w[i] = w[i] << 8 | p[8 * i + j];
	}
	for (int i = 16; i < 80; i++) {
		uint64_t s0 = ROR64(w[i - 15], 1) ^ ROR64(w[i - 15], 8) ^ (w[i - 15] >> 7);
		uint64_t s1 = ROR64(w[i - 2], 19) ^ ROR64(w[i - 2], 61) ^ (w[i - 2] >> 6);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	uint64_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3];
	uint64_t e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
	for (int i = 0; i < 80; i++) {
		uint64_t t1 = h + (ROR64(e, 14) ^ ROR64(e, 18) ^ ROR64(e, 41)) + ((e & f) ^ (~e & g)) + K512[i] + w[i];
		uint64_t t2 = (ROR64(a, 28) ^ ROR64(a, 34) ^ ROR64(a, 39)) + ((a & b) ^ (a & c) ^ (b & c));
		h = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	s->h[0] += a;
	s->h[1] += b;
	s->h[2] += c;
	s->h[3] += d;
	s->h[4] += e;
	s->h[5] += f;
	s->h[6] += g;
	s->h[7] += h;
}

void sha512_init(struct sha512 *s)
{
	static const uint64_t iv[8] = {0x6a09e667f3bcc908ull, 0xbb67ae8584caa73bull, 0x3c6ef372fe94f82bull,
				       0xa54ff53a5f1d36f1ull, 0x510e527fade682d1ull, 0x9b05688c2b3e6c1full,
				       0x1f83d9abfb41bd6bull, 0x5be0cd19137e2179ull};
	memcpy(s->h, iv, sizeof iv);
	s->len = 0;
	s->fill = 0;
}

void sha512_update(struct sha512 *s, const void *data, size_t len)
{
	s->len += len;
	absorb(s->buf, &s->fill, 128, data, len, sha512_block, s);
}

void sha512_final(struct sha512 *s, uint8_t out[64])
{
	uint64_t bits = s->len * 8; /* inputs stay far below 2^61 bytes: the high length word is 0 */
	uint8_t pad[144] = {0x80};
	size_t padlen = s->fill < 112 ? 112 - s->fill : 240 - s->fill;
	sha512_update(s, pad, padlen);
	uint8_t lenbe[16] = {0};
	for (int i = 0; i < 8; i++)
		lenbe[8 + i] = (uint8_t)(bits >> (56 - 8 * i));
	sha512_update(s, lenbe, 16);
	for (int i = 0; i < 8; i++)
		for (int j = 0; j < 8; j++)
			out[8 * i + j] = (uint8_t)(s->h[i] >> (56 - 8 * j));
}

/* ---- dispatch ---- */

const char *digest_name(enum digest_alg alg)
{
	return alg == DIGEST_SHA1 ? "SHA1" : alg == DIGEST_SHA512 ? "SHA512" : "SHA256";
}

int digest_from_name(const char *name, enum digest_alg *alg)
{
	if (!strcasecmp(name, "sha1"))
		*alg = DIGEST_SHA1;
	else if (!strcasecmp(name, "sha256"))
		*alg = DIGEST_SHA256;
	else if (!strcasecmp(name, "sha512"))
		*alg = DIGEST_SHA512;
	else
		return -1;
	return 0;
}

size_t digest_size(enum digest_alg alg) { return alg == DIGEST_SHA1 ? 20 : alg == DIGEST_SHA512 ? 64 : 32; }

void digest_init(struct digest *d, enum digest_alg alg)
{
	d->alg = alg;
	if (alg == DIGEST_SHA1)
		sha1_init(&d->u.sha1);
	else if (alg == DIGEST_SHA512)
		sha512_init(&d->u.sha512);
	else
		sha256_init(&d->u.sha256);
}

void digest_update(struct digest *d, const void *data, size_t len)
{
	if (d->alg == DIGEST_SHA1)
		sha1_update(&d->u.sha1, data, len);
	else if (d->alg == DIGEST_SHA512)
		sha512_update(&d->u.sha512, data, len);
	else
		sha256_update(&d->u.sha256, data, len);
}

void digest_final(struct digest *d, uint8_t *out, char hex[DIGEST_MAX_HEX])
{
	uint8_t buf[DIGEST_MAX_BYTES];
	if (d->alg == DIGEST_SHA1)
		sha1_final(&d->u.sha1, buf);
	else if (d->alg == DIGEST_SHA512)
		sha512_final(&d->u.sha512, buf);
	else
		sha256_final(&d->u.sha256, buf);
	size_t n = digest_size(d->alg);
	if (out)
		memcpy(out, buf, n);
	if (hex) {
		static const char digits[] = "0123456789abcdef";
		for (size_t i = 0; i < n; i++) {
			hex[2 * i] = digits[buf[i] >> 4];
			hex[2 * i + 1] = digits[buf[i] & 15];
		}
		hex[2 * n] = 0;
	}
}
