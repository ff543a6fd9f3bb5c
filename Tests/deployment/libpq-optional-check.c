// Linked the way scripts/build-shipped.sh links the daemon (libpq's static archives and
// deploy/libpq-optional.c, neither libgssapi_krb5 nor libldap), by StaticLibpqTests. It connects
// three ways and prints, after each, libpq's status and whether each optional library is mapped:
//   libpq-optional-check DSN
// 1. the DSN with gssencmode=disable, as vitals connects unless told otherwise (no GSSAPI, no
// LDAP); 2. the DSN with gssencmode=require, which makes libpq
// ask GSSAPI for credentials; 3. service=ldap-lookup, which PGSERVICEFILE (set by the test) points
// at an LDAP URL, so libpq asks LDAP for the connection parameters.
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

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
    printf("%s connected=%d gssapi=%d ldap=%d error=", step, PQstatus(connection) == CONNECTION_OK, mapped("libgssapi_krb5"), mapped("libldap"));
    for (; *error != '\0'; error++) putchar(*error == '\n' ? ' ' : *error);
    putchar('\n');
    PQfinish(connection);
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    printf("start gssapi=%d ldap=%d\n", mapped("libgssapi_krb5"), mapped("libldap"));
    const char *keys[] = {"dbname", "gssencmode", NULL};
    const char *plain[] = {argv[1], "disable", NULL};
    report("plain", PQconnectdbParams(keys, plain, 1));
    const char *gssapi[] = {argv[1], "require", NULL};
    report("gssencmode", PQconnectdbParams(keys, gssapi, 1));
    report("ldap", PQconnectdb("service=ldap-lookup connect_timeout=5"));
    return 0;
}
