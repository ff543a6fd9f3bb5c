/* For `make shipped` (scripts/build-shipped.sh): the hashes, HMACs and random bytes that libpq's
   static archives take from PostgreSQL's common code (pg_cryptohash_*, pg_hmac_*, pg_strong_random),
   defined here so that the archive's OpenSSL versions of them are not linked.

   Why: those versions go through OpenSSL 3's EVP layer and its random generator. The first call
   (a SCRAM or MD5 password exchange, a SCRAM nonce) makes OpenSSL set up its providers, algorithm
   names and property caches: about 2 MiB of resident memory in a daemon of about 20, even when the
   connection has no TLS. Here the digests are OpenSSL's own low-level functions from the same
   Debian libcrypto (SHA256_Init and the like: no provider, about 0.1 MiB touched), HMAC is the
   construction of RFC 2104 over them, and random bytes come from the kernel (getrandom), as
   PostgreSQL's own non-OpenSSL build reads them from /dev/urandom. TLS to the server is unchanged:
   it is OpenSSL's, and it sets up the providers itself when a connection uses it.

   The interface is PostgreSQL's common/cryptohash.h, common/hmac.h and port.h (15, as Debian's
   libpq-dev); StaticLibpqTests links the same way and connects with SCRAM, an MD5 password and
   TLS, and checks these functions served them. */
#define OPENSSL_SUPPRESS_DEPRECATED /* the low-level digests are what this file is for */
#include <errno.h>
#include <openssl/md5.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

typedef enum { PG_MD5 = 0, PG_SHA1, PG_SHA224, PG_SHA256, PG_SHA384, PG_SHA512 } pg_cryptohash_type;

typedef struct pg_cryptohash_ctx {
    pg_cryptohash_type type;
    const char *error;
    union {
        MD5_CTX md5;
        SHA_CTX sha1;
        SHA256_CTX sha256; /* SHA-224 too */
        SHA512_CTX sha512; /* SHA-384 too */
    } state;
} pg_cryptohash_ctx;

typedef struct pg_hmac_ctx {
    pg_cryptohash_ctx inner;
    pg_cryptohash_ctx outer;
    const char *error;
} pg_hmac_ctx;

/* How many hashes, HMACs and random draws libpq has asked for here: StaticLibpqTests reads it to
   know that a password exchange came here. Counted atomically, as connections to several targets
   run on threads of their own. */
unsigned long vitals_libpq_crypto_calls = 0;

static void count(void) { __atomic_fetch_add(&vitals_libpq_crypto_calls, 1, __ATOMIC_RELAXED); }

enum { maximumDigestLength = 64, maximumBlockLength = 128 };

static size_t digest_length(pg_cryptohash_type type) {
    switch (type) {
    case PG_MD5: return MD5_DIGEST_LENGTH;
    case PG_SHA1: return SHA_DIGEST_LENGTH;
    case PG_SHA224: return SHA224_DIGEST_LENGTH;
    case PG_SHA256: return SHA256_DIGEST_LENGTH;
    case PG_SHA384: return SHA384_DIGEST_LENGTH;
    case PG_SHA512: return SHA512_DIGEST_LENGTH;
    }
    return 0;
}

static size_t block_length(pg_cryptohash_type type) {
    return type == PG_SHA384 || type == PG_SHA512 ? 128 : 64;
}

static bool known(pg_cryptohash_type type) { return digest_length(type) != 0; }

/* --- common/cryptohash.h --- */

pg_cryptohash_ctx *pg_cryptohash_create(pg_cryptohash_type type) {
    if (!known(type)) return NULL;
    pg_cryptohash_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL) return NULL;
    count();
    ctx->type = type;
    return ctx;
}

int pg_cryptohash_init(pg_cryptohash_ctx *ctx) {
    if (ctx == NULL) return -1;
    int ok = 0;
    switch (ctx->type) {
    case PG_MD5: ok = MD5_Init(&ctx->state.md5); break;
    case PG_SHA1: ok = SHA1_Init(&ctx->state.sha1); break;
    case PG_SHA224: ok = SHA224_Init(&ctx->state.sha256); break;
    case PG_SHA256: ok = SHA256_Init(&ctx->state.sha256); break;
    case PG_SHA384: ok = SHA384_Init(&ctx->state.sha512); break;
    case PG_SHA512: ok = SHA512_Init(&ctx->state.sha512); break;
    }
    if (!ok) ctx->error = "could not initialize the hash";
    return ok ? 0 : -1;
}

int pg_cryptohash_update(pg_cryptohash_ctx *ctx, const uint8_t *data, size_t len) {
    if (ctx == NULL) return -1;
    int ok = 0;
    switch (ctx->type) {
    case PG_MD5: ok = MD5_Update(&ctx->state.md5, data, len); break;
    case PG_SHA1: ok = SHA1_Update(&ctx->state.sha1, data, len); break;
    case PG_SHA224: ok = SHA224_Update(&ctx->state.sha256, data, len); break;
    case PG_SHA256: ok = SHA256_Update(&ctx->state.sha256, data, len); break;
    case PG_SHA384: ok = SHA384_Update(&ctx->state.sha512, data, len); break;
    case PG_SHA512: ok = SHA512_Update(&ctx->state.sha512, data, len); break;
    }
    if (!ok) ctx->error = "could not update the hash";
    return ok ? 0 : -1;
}

int pg_cryptohash_final(pg_cryptohash_ctx *ctx, uint8_t *dest, size_t len) {
    if (ctx == NULL) return -1;
    if (len < digest_length(ctx->type)) {
        ctx->error = "destination buffer too small";
        return -1;
    }
    int ok = 0;
    switch (ctx->type) {
    case PG_MD5: ok = MD5_Final(dest, &ctx->state.md5); break;
    case PG_SHA1: ok = SHA1_Final(dest, &ctx->state.sha1); break;
    case PG_SHA224: ok = SHA224_Final(dest, &ctx->state.sha256); break;
    case PG_SHA256: ok = SHA256_Final(dest, &ctx->state.sha256); break;
    case PG_SHA384: ok = SHA384_Final(dest, &ctx->state.sha512); break;
    case PG_SHA512: ok = SHA512_Final(dest, &ctx->state.sha512); break;
    }
    if (!ok) ctx->error = "could not finish the hash";
    return ok ? 0 : -1;
}

void pg_cryptohash_free(pg_cryptohash_ctx *ctx) {
    if (ctx == NULL) return;
    explicit_bzero(ctx, sizeof *ctx); /* the state can hold a password's hash */
    free(ctx);
}

const char *pg_cryptohash_error(pg_cryptohash_ctx *ctx) {
    if (ctx == NULL) return "out of memory";
    return ctx->error != NULL ? ctx->error : "success";
}

/* --- common/hmac.h: HMAC(K, m) = H((K' ^ opad) || H((K' ^ ipad) || m)), K' the key padded to a
   block, or its digest padded when it is longer than a block (RFC 2104). --- */

pg_hmac_ctx *pg_hmac_create(pg_cryptohash_type type) {
    if (!known(type)) return NULL;
    pg_hmac_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL) return NULL;
    count();
    ctx->inner.type = type;
    ctx->outer.type = type;
    return ctx;
}

static int hmac_fail(pg_hmac_ctx *ctx, const char *error) {
    ctx->error = error;
    return -1;
}

int pg_hmac_init(pg_hmac_ctx *ctx, const uint8_t *key, size_t len) {
    if (ctx == NULL) return -1;
    pg_cryptohash_type type = ctx->inner.type;
    size_t block = block_length(type);
    uint8_t padded[maximumBlockLength] = {0};
    uint8_t pad[maximumBlockLength];
    int result = 0;
    if (len > block) {
        pg_cryptohash_ctx digest = {.type = type};
        if (pg_cryptohash_init(&digest) < 0 || pg_cryptohash_update(&digest, key, len) < 0 ||
            pg_cryptohash_final(&digest, padded, sizeof padded) < 0)
            result = -1;
        explicit_bzero(&digest, sizeof digest);
    } else if (len > 0) {
        memcpy(padded, key, len);
    }
    for (size_t i = 0; result == 0 && i < block; i++) pad[i] = padded[i] ^ 0x36;
    if (result == 0 && (pg_cryptohash_init(&ctx->inner) < 0 || pg_cryptohash_update(&ctx->inner, pad, block) < 0)) result = -1;
    for (size_t i = 0; result == 0 && i < block; i++) pad[i] = padded[i] ^ 0x5c;
    if (result == 0 && (pg_cryptohash_init(&ctx->outer) < 0 || pg_cryptohash_update(&ctx->outer, pad, block) < 0)) result = -1;
    /* Both hold the password, or what SCRAM derived from it. */
    explicit_bzero(padded, sizeof padded);
    explicit_bzero(pad, sizeof pad);
    return result < 0 ? hmac_fail(ctx, "could not initialize the HMAC") : 0;
}

int pg_hmac_update(pg_hmac_ctx *ctx, const uint8_t *data, size_t len) {
    if (ctx == NULL) return -1;
    return pg_cryptohash_update(&ctx->inner, data, len) < 0 ? hmac_fail(ctx, pg_cryptohash_error(&ctx->inner)) : 0;
}

int pg_hmac_final(pg_hmac_ctx *ctx, uint8_t *dest, size_t len) {
    if (ctx == NULL) return -1;
    size_t length = digest_length(ctx->inner.type);
    if (len < length) return hmac_fail(ctx, "destination buffer too small");
    uint8_t inner[maximumDigestLength];
    int result = pg_cryptohash_final(&ctx->inner, inner, sizeof inner) < 0 || pg_cryptohash_update(&ctx->outer, inner, length) < 0 ||
                         pg_cryptohash_final(&ctx->outer, dest, len) < 0
                     ? -1
                     : 0;
    explicit_bzero(inner, sizeof inner);
    return result < 0 ? hmac_fail(ctx, "could not finish the HMAC") : 0;
}

void pg_hmac_free(pg_hmac_ctx *ctx) {
    if (ctx == NULL) return;
    explicit_bzero(ctx, sizeof *ctx); /* the states are keyed by a password */
    free(ctx);
}

const char *pg_hmac_error(pg_hmac_ctx *ctx) {
    if (ctx == NULL) return "out of memory";
    return ctx->error != NULL ? ctx->error : "success";
}

/* --- port.h: SCRAM's client nonce --- */

void pg_strong_random_init(void) {}

bool pg_strong_random(void *buf, size_t len) {
    count();
    uint8_t *bytes = buf;
    while (len > 0) {
        ssize_t got = getrandom(bytes, len, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        bytes += got;
        len -= (size_t)got;
    }
    return true;
}
