// libpq's optional libraries, loaded when libpq first calls them (the shipped build only:
// scripts/build-shipped.sh links libpq's static archive with this file; StaticLibpqTests links a
// small program the same way).
//
// Debian's libpq links libgssapi_krb5 (GSSAPI authentication and encryption) and libldap (LDAP
// lookups in a connection service file). Loading libpq.so loads them and what they link: Kerberos,
// OpenLDAP, SASL, GnuTLS, p11-kit, nettle, gmp, libunistring. That is about 3 MiB resident and
// their constructors in every daemon, though libpq calls them only for a DSN that asks for GSSAPI
// (vitals sets gssencmode=disable unless the user chose) or a service file that names an LDAP URL.
//
// Each function libpq calls from them is defined here. Its first call opens the library with
// dlopen and every call forwards to the library's own function, so a daemon that uses GSSAPI or
// LDAP gets Debian's libraries unchanged. If the library cannot be opened, each call fails the way
// that library reports failure, and libpq turns it into a connection error (its GSSAPI errors, or
// "could not create LDAP structure") instead of the process failing to start.
#define LDAP_DEPRECATED 1
#include <dlfcn.h>
#include <gssapi/gssapi.h>
#include <ldap.h>
#include <pthread.h>
#include <string.h>

// The files to open; a test builds this file with names that do not exist, to see the failures.
#ifndef GSSAPI_LIBRARY_FILES
#define GSSAPI_LIBRARY_FILES "libgssapi_krb5.so.2"
#endif
#ifndef LDAP_LIBRARY_FILES
// OpenLDAP 2.5 (Debian 12) and 2.6 keep these functions' ABI.
#define LDAP_LIBRARY_FILES "libldap-2.5.so.0", "libldap.so.2"
#endif

struct optional_library {
    const char *const files[3];
    pthread_once_t once;
    void *handle;
};

static struct optional_library gssapi = {{GSSAPI_LIBRARY_FILES, NULL}, PTHREAD_ONCE_INIT, NULL};
static struct optional_library ldap = {{LDAP_LIBRARY_FILES, NULL}, PTHREAD_ONCE_INIT, NULL};

static void open_library(struct optional_library *library) {
    for (const char *const *file = library->files; *file != NULL && library->handle == NULL; file++)
        library->handle = dlopen(*file, RTLD_NOW | RTLD_LOCAL);
}
static void open_gssapi(void) { open_library(&gssapi); }
static void open_ldap(void) { open_library(&ldap); }

static void *library_symbol(struct optional_library *library, void (*open)(void), const char *name) {
    pthread_once(&library->once, open);
    return library->handle != NULL ? dlsym(library->handle, name) : NULL;
}
static void *gssapi_symbol(const char *name) { return library_symbol(&gssapi, open_gssapi, name); }
static void *ldap_symbol(const char *name) { return library_symbol(&ldap, open_ldap, name); }

// Calls the library's function of the same name, typed by its declaration in the library's header,
// and returns what it returns; falls through to the caller's failure path when it is not there.
#define FORWARD(symbol, name, ...) \
    do { \
        __typeof__(&name) library_function = (__typeof__(&name))symbol(#name); \
        if (library_function != NULL) return library_function(__VA_ARGS__); \
    } while (0)
#define FORWARD_GSSAPI(name, ...) FORWARD(gssapi_symbol, name, __VA_ARGS__)
#define FORWARD_LDAP(name, ...) FORWARD(ldap_symbol, name, __VA_ARGS__)

// MARK: GSSAPI

// The one OID libpq reads from the library's data (RFC 2743's host-based service name,
// 1.2.840.113554.1.2.1.4). gss_import_name passes the library's own object on.
static gss_OID_desc hostbased_service = {10, (void *)"\x2a\x86\x48\x86\xf7\x12\x01\x02\x01\x04"};
gss_OID GSS_C_NT_HOSTBASED_SERVICE = &hostbased_service;

static const char gssapi_unavailable[] = "the GSSAPI library (" GSSAPI_LIBRARY_FILES ") could not be loaded";

OM_uint32 gss_import_name(OM_uint32 *minor_status, gss_buffer_t input_name_buffer, gss_OID input_name_type, gss_name_t *output_name) {
    if (input_name_type == &hostbased_service) {
        gss_OID *library_type = gssapi_symbol("GSS_C_NT_HOSTBASED_SERVICE");
        if (library_type != NULL) input_name_type = *library_type;
    }
    FORWARD_GSSAPI(gss_import_name, minor_status, input_name_buffer, input_name_type, output_name);
    *minor_status = 0;
    return GSS_S_UNAVAILABLE;
}

OM_uint32 gss_acquire_cred(
    OM_uint32 *minor_status, gss_name_t desired_name, OM_uint32 time_req, gss_OID_set desired_mechs, gss_cred_usage_t cred_usage,
    gss_cred_id_t *output_cred_handle, gss_OID_set *actual_mechs, OM_uint32 *time_rec) {
    FORWARD_GSSAPI(gss_acquire_cred, minor_status, desired_name, time_req, desired_mechs, cred_usage, output_cred_handle, actual_mechs, time_rec);
    *minor_status = 0;
    return GSS_S_UNAVAILABLE;
}

OM_uint32 gss_init_sec_context(
    OM_uint32 *minor_status, gss_cred_id_t claimant_cred_handle, gss_ctx_id_t *context_handle, gss_name_t target_name, gss_OID mech_type,
    OM_uint32 req_flags, OM_uint32 time_req, gss_channel_bindings_t input_chan_bindings, gss_buffer_t input_token, gss_OID *actual_mech_type,
    gss_buffer_t output_token, OM_uint32 *ret_flags, OM_uint32 *time_rec) {
    FORWARD_GSSAPI(gss_init_sec_context, minor_status, claimant_cred_handle, context_handle, target_name, mech_type, req_flags, time_req,
                   input_chan_bindings, input_token, actual_mech_type, output_token, ret_flags, time_rec);
    *minor_status = 0;
    return GSS_S_UNAVAILABLE;
}

OM_uint32 gss_wrap(OM_uint32 *minor_status, gss_ctx_id_t context_handle, int conf_req_flag, gss_qop_t qop_req, gss_buffer_t input_message_buffer,
                   int *conf_state, gss_buffer_t output_message_buffer) {
    FORWARD_GSSAPI(gss_wrap, minor_status, context_handle, conf_req_flag, qop_req, input_message_buffer, conf_state, output_message_buffer);
    *minor_status = 0;
    return GSS_S_UNAVAILABLE;
}

OM_uint32 gss_unwrap(OM_uint32 *minor_status, gss_ctx_id_t context_handle, gss_buffer_t input_message_buffer, gss_buffer_t output_message_buffer,
                     int *conf_state, gss_qop_t *qop_state) {
    FORWARD_GSSAPI(gss_unwrap, minor_status, context_handle, input_message_buffer, output_message_buffer, conf_state, qop_state);
    *minor_status = 0;
    return GSS_S_UNAVAILABLE;
}

OM_uint32 gss_wrap_size_limit(OM_uint32 *minor_status, gss_ctx_id_t context_handle, int conf_req_flag, gss_qop_t qop_req, OM_uint32 req_output_size,
                              OM_uint32 *max_input_size) {
    FORWARD_GSSAPI(gss_wrap_size_limit, minor_status, context_handle, conf_req_flag, qop_req, req_output_size, max_input_size);
    *minor_status = 0;
    return GSS_S_UNAVAILABLE;
}

// Without the library, the message libpq appends to its error says which library is missing;
// it is static, so gss_release_buffer below only forgets it.
OM_uint32 gss_display_status(OM_uint32 *minor_status, OM_uint32 status_value, int status_type, gss_OID mech_type, OM_uint32 *message_context,
                             gss_buffer_t status_string) {
    FORWARD_GSSAPI(gss_display_status, minor_status, status_value, status_type, mech_type, message_context, status_string);
    *minor_status = 0;
    *message_context = 0;
    status_string->length = strlen(gssapi_unavailable);
    status_string->value = (void *)gssapi_unavailable;
    return GSS_S_COMPLETE;
}

// Without the library nothing below was ever allocated by it: release and delete only clear.
OM_uint32 gss_release_buffer(OM_uint32 *minor_status, gss_buffer_t buffer) {
    FORWARD_GSSAPI(gss_release_buffer, minor_status, buffer);
    *minor_status = 0;
    if (buffer != NULL) {
        buffer->length = 0;
        buffer->value = NULL;
    }
    return GSS_S_COMPLETE;
}

OM_uint32 gss_release_cred(OM_uint32 *minor_status, gss_cred_id_t *cred_handle) {
    FORWARD_GSSAPI(gss_release_cred, minor_status, cred_handle);
    *minor_status = 0;
    if (cred_handle != NULL) *cred_handle = GSS_C_NO_CREDENTIAL;
    return GSS_S_COMPLETE;
}

OM_uint32 gss_release_name(OM_uint32 *minor_status, gss_name_t *input_name) {
    FORWARD_GSSAPI(gss_release_name, minor_status, input_name);
    *minor_status = 0;
    if (input_name != NULL) *input_name = GSS_C_NO_NAME;
    return GSS_S_COMPLETE;
}

OM_uint32 gss_delete_sec_context(OM_uint32 *minor_status, gss_ctx_id_t *context_handle, gss_buffer_t output_token) {
    FORWARD_GSSAPI(gss_delete_sec_context, minor_status, context_handle, output_token);
    *minor_status = 0;
    if (context_handle != NULL) *context_handle = GSS_C_NO_CONTEXT;
    if (output_token != GSS_C_NO_BUFFER) {
        output_token->length = 0;
        output_token->value = NULL;
    }
    return GSS_S_COMPLETE;
}

// MARK: LDAP (libpq's ldapServiceLookup). Without the library ldap_init returns NULL and libpq
// stops there ("could not create LDAP structure"); the rest fail the same way should they be called.

LDAP *ldap_init(LDAP_CONST char *host, int port) {
    FORWARD_LDAP(ldap_init, host, port);
    return NULL;
}

int ldap_set_option(LDAP *ld, int option, LDAP_CONST void *invalue) {
    FORWARD_LDAP(ldap_set_option, ld, option, invalue);
    return LDAP_OPT_ERROR;
}

int ldap_simple_bind(LDAP *ld, LDAP_CONST char *who, LDAP_CONST char *passwd) {
    FORWARD_LDAP(ldap_simple_bind, ld, who, passwd);
    return -1;
}

int ldap_result(LDAP *ld, int msgid, int all, struct timeval *timeout, LDAPMessage **result) {
    FORWARD_LDAP(ldap_result, ld, msgid, all, timeout, result);
    return -1;
}

int ldap_search_st(LDAP *ld, LDAP_CONST char *base, int scope, LDAP_CONST char *filter, char **attrs, int attrsonly, struct timeval *timeout,
                   LDAPMessage **res) {
    FORWARD_LDAP(ldap_search_st, ld, base, scope, filter, attrs, attrsonly, timeout, res);
    if (res != NULL) *res = NULL;
    return LDAP_OTHER;
}

int ldap_count_entries(LDAP *ld, LDAPMessage *chain) {
    FORWARD_LDAP(ldap_count_entries, ld, chain);
    return -1;
}

LDAPMessage *ldap_first_entry(LDAP *ld, LDAPMessage *chain) {
    FORWARD_LDAP(ldap_first_entry, ld, chain);
    return NULL;
}

struct berval **ldap_get_values_len(LDAP *ld, LDAPMessage *entry, LDAP_CONST char *target) {
    FORWARD_LDAP(ldap_get_values_len, ld, entry, target);
    return NULL;
}

void ldap_value_free_len(struct berval **vals) {
    __typeof__(&ldap_value_free_len) library_function = (__typeof__(&ldap_value_free_len))ldap_symbol("ldap_value_free_len");
    if (library_function != NULL) library_function(vals);
}

int ldap_msgfree(LDAPMessage *lm) {
    FORWARD_LDAP(ldap_msgfree, lm);
    return 0;
}

int ldap_unbind(LDAP *ld) {
    FORWARD_LDAP(ldap_unbind, ld);
    return LDAP_SUCCESS;
}

char *ldap_err2string(int err) {
    FORWARD_LDAP(ldap_err2string, err);
    return (char *)"the LDAP library (libldap) could not be loaded";
}
