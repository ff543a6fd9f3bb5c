// Linked the way scripts/build-shipped.sh links the daemon (libpq's static archives,
// deploy/libpq-optional.c instead of libgssapi_krb5 and libldap, deploy/libpq-crypto.c instead of
// the archives' OpenSSL hashes), by StaticLibpqTests.
//
//   static-libpq-check DSN
// connects four ways and prints, after each, libpq's status, whether each optional library is
// mapped and how many hashes, HMACs and random draws deploy/libpq-crypto.c has served so far:
// 1. the DSN with gssencmode=disable, as vitals connects unless told otherwise (no GSSAPI, no
// LDAP); 2. the same with a wrong password; 3. the DSN with gssencmode=require, which makes libpq
// ask GSSAPI for credentials; 4. service=ldap-lookup, which PGSERVICEFILE (set by the test) points
// at an LDAP URL, so libpq asks LDAP for the connection parameters.
//
//   static-libpq-check --hashes
// compares deploy/libpq-crypto.c's digests and HMACs, every type libpq can ask for, with OpenSSL's
// (EVP_Digest and HMAC, the functions the archives' versions use), over messages and keys of
// lengths around the block sizes, and prints `hashes ok N` or the first difference.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef enum { PG_MD5 = 0, PG_SHA1, PG_SHA224, PG_SHA256, PG_SHA384, PG_SHA512 } pg_cryptohash_type;
typedef struct pg_cryptohash_ctx pg_cryptohash_ctx;
typedef struct pg_hmac_ctx pg_hmac_ctx;
extern pg_cryptohash_ctx *pg_cryptohash_create(pg_cryptohash_type type);
extern int pg_cryptohash_init(pg_cryptohash_ctx *ctx);
extern int pg_cryptohash_update(pg_cryptohash_ctx *ctx, const uint8_t *data, size_t len);
extern int pg_cryptohash_final(pg_cryptohash_ctx *ctx, uint8_t *dest, size_t len);
extern void pg_cryptohash_free(pg_cryptohash_ctx *ctx);
extern const char *pg_cryptohash_error(pg_cryptohash_ctx *ctx);
extern pg_hmac_ctx *pg_hmac_create(pg_cryptohash_type type);
extern int pg_hmac_init(pg_hmac_ctx *ctx, const uint8_t *key, size_t len);
extern int pg_hmac_update(pg_hmac_ctx *ctx, const uint8_t *data, size_t len);
extern int pg_hmac_final(pg_hmac_ctx *ctx, uint8_t *dest, size_t len);
extern void pg_hmac_free(pg_hmac_ctx *ctx);
extern const char *pg_hmac_error(pg_hmac_ctx *ctx);
extern unsigned long vitals_libpq_crypto_calls;

static int mapped(const char *library) {
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[4096];
    int found = 0;
    while (maps != NULL && fgets(line, sizeof line, maps) != NULL)
        if (strstr(line, library) != NULL) found = 1;
    if (maps != NULL) fclose(maps);
    return found;
}

static void report(const char *step, PGconn *connection) {
    const char *error = PQerrorMessage(connection);
    printf("%s connected=%d gssapi=%d ldap=%d crypto=%lu error=", step, PQstatus(connection) == CONNECTION_OK, mapped("libgssapi_krb5"),
           mapped("libldap"), vitals_libpq_crypto_calls);
    for (; *error != '\0'; error++) putchar(*error == '\n' ? ' ' : *error);
    putchar('\n');
    PQfinish(connection);
}

static const EVP_MD *openssl_digest(pg_cryptohash_type type) {
    switch (type) {
    case PG_MD5: return EVP_md5();
    case PG_SHA1: return EVP_sha1();
    case PG_SHA224: return EVP_sha224();
    case PG_SHA256: return EVP_sha256();
    case PG_SHA384: return EVP_sha384();
    case PG_SHA512: return EVP_sha512();
    }
    return NULL;
}

static int hashes(void) {
    static const char *names[] = {"md5", "sha1", "sha224", "sha256", "sha384", "sha512"};
    // Lengths around both block sizes (64 and 128) and a key longer than a block, which HMAC hashes.
    static const size_t lengths[] = {0, 1, 3, 55, 56, 63, 64, 65, 111, 112, 127, 128, 129, 200, 1000};
    uint8_t message[1000];
    for (size_t i = 0; i < sizeof message; i++) message[i] = (uint8_t)(i * 7 + 3);
    int checked = 0;
    for (pg_cryptohash_type type = PG_MD5; type <= PG_SHA512; type++) {
        const EVP_MD *md = openssl_digest(type);
        for (size_t l = 0; l < sizeof lengths / sizeof *lengths; l++) {
            size_t length = lengths[l];
            uint8_t expected[64], actual[64];
            unsigned int expected_length = 0;
            EVP_Digest(message, length, expected, &expected_length, md, NULL);
            pg_cryptohash_ctx *hash = pg_cryptohash_create(type);
            // In two pieces, as libpq's callers update more than once.
            if (hash == NULL || pg_cryptohash_init(hash) < 0 || pg_cryptohash_update(hash, message, length / 2) < 0 ||
                pg_cryptohash_update(hash, message + length / 2, length - length / 2) < 0 ||
                pg_cryptohash_final(hash, actual, sizeof actual) < 0 || memcmp(expected, actual, expected_length) != 0) {
                printf("hash differs: %s over %zu bytes (%s)\n", names[type], length, pg_cryptohash_error(hash));
                return 1;
            }
            if (pg_cryptohash_init(hash) < 0 || pg_cryptohash_final(hash, actual, expected_length - 1) == 0 ||
                strcmp(pg_cryptohash_error(hash), "destination buffer too small") != 0) {
                printf("hash accepts a short destination: %s\n", names[type]);
                return 1;
            }
            pg_cryptohash_free(hash);
            pg_hmac_ctx *hmac = pg_hmac_create(type);
            for (size_t k = 0; k < sizeof lengths / sizeof *lengths; k++) {
                size_t key_length = lengths[k];
                const uint8_t *key = message + 500;
                HMAC(md, key, (int)key_length, message, length, expected, &expected_length);
                // Initialised again each time, as SCRAM does for each of its iterations.
                if (hmac == NULL || pg_hmac_init(hmac, key, key_length) < 0 || pg_hmac_update(hmac, message, length / 2) < 0 ||
                    pg_hmac_update(hmac, message + length / 2, length - length / 2) < 0 ||
                    pg_hmac_final(hmac, actual, sizeof actual) < 0 || memcmp(expected, actual, expected_length) != 0) {
                    printf("HMAC differs: %s over %zu bytes, key of %zu (%s)\n", names[type], length, key_length, pg_hmac_error(hmac));
                    return 1;
                }
                checked++;
            }
            pg_hmac_free(hmac);
            checked++;
        }
    }
    printf("hashes ok %d\n", checked);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    if (strcmp(argv[1], "--hashes") == 0) return hashes();
    printf("start gssapi=%d ldap=%d crypto=%lu\n", mapped("libgssapi_krb5"), mapped("libldap"), vitals_libpq_crypto_calls);
    const char *keys[] = {"dbname", "gssencmode", NULL};
    const char *plain[] = {argv[1], "disable", NULL};
    report("plain", PQconnectdbParams(keys, plain, 1));
    const char *wrong_keys[] = {"dbname", "gssencmode", "password", NULL};
    const char *wrong[] = {argv[1], "disable", "not-the-password", NULL};
    report("wrong-password", PQconnectdbParams(wrong_keys, wrong, 1));
    const char *gssapi[] = {argv[1], "require", NULL};
    report("gssencmode", PQconnectdbParams(keys, gssapi, 1));
    report("ldap", PQconnectdb("service=ldap-lookup connect_timeout=5"));
    return 0;
}
