/* builder/ostree_dl.c: libostree and GLib, loaded when a repository is first opened (see util/dlopen.h).
 *
 * The functions apkg calls, forwarded to libostree-1.so.1; the g_* ones
 * resolve through its handle to the libgio, libgobject and libglib it
 * depends on. The variadic GVariant functions are written out with their
 * va_list variants, the way GLib's own gvariant.c writes them.
 */
#include "builder/ostree_dl.h"

#include "util/dlopen.h"

#include <gio/gunixinputstream.h>
#include <ostree.h>
#include <string.h>

/* clang-format off */
#define OSTREE_FUNCTIONS(FN, VOID, PTR) \
	VOID(g_clear_error, (GError **a), (a)) \
	FN(gboolean, g_error_matches, (const GError *a, GQuark b, gint c), (a, b, c)) \
	FN(GFileInfo *, g_file_info_new, (void), ()) \
	VOID(g_file_info_set_attribute_uint32, (GFileInfo *a, const char *b, guint32 c), (a, b, c)) \
	VOID(g_file_info_set_file_type, (GFileInfo *a, GFileType b), (a, b)) \
	VOID(g_file_info_set_is_symlink, (GFileInfo *a, gboolean b), (a, b)) \
	VOID(g_file_info_set_size, (GFileInfo *a, goffset b), (a, b)) \
	VOID(g_file_info_set_symlink_target, (GFileInfo *a, const char *b), (a, b)) \
	VOID(g_free, (gpointer a), (a)) \
	FN(gboolean, g_hash_table_add, (GHashTable *a, gpointer b), (a, b)) \
	FN(gboolean, g_hash_table_contains, (GHashTable *a, gconstpointer b), (a, b)) \
	VOID(g_hash_table_iter_init, (GHashTableIter *a, GHashTable *b), (a, b)) \
	FN(gboolean, g_hash_table_iter_next, (GHashTableIter *a, gpointer *b, gpointer *c), (a, b, c)) \
	FN(GHashTable *, g_hash_table_new, (GHashFunc a, GEqualFunc b), (a, b)) \
	FN(guint, g_hash_table_size, (GHashTable *a), (a)) \
	VOID(g_hash_table_unref, (GHashTable *a), (a)) \
	FN(GQuark, g_io_error_quark, (void), ()) \
	VOID(g_object_unref, (gpointer a), (a)) \
	VOID(g_ptr_array_add, (GPtrArray *a, gpointer b), (a, b)) \
	FN(GPtrArray *, g_ptr_array_new_with_free_func, (GDestroyNotify a), (a)) \
	VOID(g_ptr_array_unref, (GPtrArray *a), (a)) \
	FN(gboolean, g_str_equal, (gconstpointer a, gconstpointer b), (a, b)) \
	FN(guint, g_str_hash, (gconstpointer a), (a)) \
	FN(gchar *, g_strdup, (const gchar *a), (a)) \
	FN(GTypeInstance *, g_type_check_instance_cast, (GTypeInstance *a, GType b), (a, b)) \
	FN(GInputStream *, g_unix_input_stream_new, (gint a, gboolean b), (a, b)) \
	FN(GVariant *, g_variant_builder_end, (GVariantBuilder *a), (a)) \
	VOID(g_variant_builder_init, (GVariantBuilder *a, const GVariantType *b), (a, b)) \
	FN(GVariant *, g_variant_get_child_value, (GVariant *a, gsize b), (a, b)) \
	FN(gconstpointer, g_variant_get_fixed_array, (GVariant *a, gsize *b, gsize c), (a, b, c)) \
	FN(GVariant *, g_variant_lookup_value, (GVariant *a, const gchar *b, const GVariantType *c), (a, b, c)) \
	FN(GVariant *, g_variant_new_boolean, (gboolean a), (a)) \
	FN(GVariant *, g_variant_new_bytestring, (const gchar *a), (a)) \
	FN(GVariant *, g_variant_new_fixed_array, (const GVariantType *a, gconstpointer b, gsize c, gsize d), (a, b, c, d)) \
	FN(GVariant *, g_variant_new_int32, (gint32 a), (a)) \
	FN(GVariant *, g_variant_new_string, (const gchar *a), (a)) \
	FN(GVariant *, g_variant_new_strv, (const gchar *const *a, gssize b), (a, b)) \
	FN(GVariant *, g_variant_new_variant, (GVariant *a), (a)) \
	FN(GVariant *, g_variant_ref_sink, (GVariant *a), (a)) \
	FN(const GVariantType *, g_variant_type_checked_, (const gchar *a), (a)) \
	VOID(g_variant_unref, (GVariant *a), (a)) \
	VOID(ostree_checksum_inplace_from_bytes, (const guchar *a, char *b), (a, b)) \
	FN(guint64, ostree_commit_get_timestamp, (GVariant *a), (a)) \
	FN(GVariant *, ostree_create_directory_metadata, (GFileInfo *a, GVariant *b), (a, b)) \
	FN(gboolean, ostree_mutable_tree_ensure_dir, (OstreeMutableTree *a, const char *b, OstreeMutableTree **c, GError **d), (a, b, c, d)) \
	FN(GHashTable *, ostree_mutable_tree_get_files, (OstreeMutableTree *a), (a)) \
	FN(GHashTable *, ostree_mutable_tree_get_subdirs, (OstreeMutableTree *a), (a)) \
	FN(OstreeMutableTree *, ostree_mutable_tree_new, (void), ()) \
	FN(OstreeMutableTree *, ostree_mutable_tree_new_from_commit, (OstreeRepo *a, const char *b, GError **c), (a, b, c)) \
	FN(gboolean, ostree_mutable_tree_remove, (OstreeMutableTree *a, const char *b, gboolean c, GError **d), (a, b, c, d)) \
	FN(gboolean, ostree_mutable_tree_replace_file, (OstreeMutableTree *a, const char *b, const char *c, GError **d), (a, b, c, d)) \
	VOID(ostree_mutable_tree_set_metadata_checksum, (OstreeMutableTree *a, const char *b), (a, b)) \
	VOID(ostree_object_name_deserialize, (GVariant *a, const char **b, OstreeObjectType *c), (a, b, c)) \
	FN(const char *, ostree_object_type_to_string, (OstreeObjectType a), (a)) \
	FN(gboolean, ostree_raw_file_to_content_stream, (GInputStream *a, GFileInfo *b, GVariant *c, GInputStream **d, guint64 *e, GCancellable *f, GError **g), (a, b, c, d, e, f, g)) \
	FN(gboolean, ostree_repo_abort_transaction, (OstreeRepo *a, GCancellable *b, GError **c), (a, b, c)) \
	FN(gboolean, ostree_repo_checkout_at, (OstreeRepo *a, OstreeRepoCheckoutAtOptions *b, int c, const char *d, const char *e, GCancellable *f, GError **g), (a, b, c, d, e, f, g)) \
	FN(gboolean, ostree_repo_commit_transaction, (OstreeRepo *a, OstreeRepoTransactionStats *b, GCancellable *c, GError **d), (a, b, c, d)) \
	FN(OstreeRepo *, ostree_repo_create_at, (int a, const char *b, OstreeRepoMode c, GVariant *d, GCancellable *e, GError **f), (a, b, c, d, e, f)) \
	FN(gboolean, ostree_repo_delete_object, (OstreeRepo *a, OstreeObjectType b, const char *c, GCancellable *d, GError **e), (a, b, c, d, e)) \
	FN(GType, ostree_repo_file_get_type, (void), ()) \
	FN(gboolean, ostree_repo_fsck_object, (OstreeRepo *a, OstreeObjectType b, const char *c, GCancellable *d, GError **e), (a, b, c, d, e)) \
	FN(gboolean, ostree_repo_list_objects, (OstreeRepo *a, OstreeRepoListObjectsFlags b, GHashTable **c, GCancellable *d, GError **e), (a, b, c, d, e)) \
	FN(gboolean, ostree_repo_list_refs_ext, (OstreeRepo *a, const char *b, GHashTable **c, OstreeRepoListRefsExtFlags d, GCancellable *e, GError **f), (a, b, c, d, e, f)) \
	FN(gboolean, ostree_repo_load_variant, (OstreeRepo *a, OstreeObjectType b, const char *c, GVariant **d, GError **e), (a, b, c, d, e)) \
	FN(OstreeRepo *, ostree_repo_open_at, (int a, const char *b, GCancellable *c, GError **d), (a, b, c, d)) \
	FN(gboolean, ostree_repo_prepare_transaction, (OstreeRepo *a, gboolean *b, GCancellable *c, GError **d), (a, b, c, d)) \
	FN(gboolean, ostree_repo_prune, (OstreeRepo *a, OstreeRepoPruneFlags b, gint c, gint *d, gint *e, guint64 *f, GCancellable *g, GError **h), (a, b, c, d, e, f, g, h)) \
	FN(gboolean, ostree_repo_pull_with_options, (OstreeRepo *a, const char *b, GVariant *c, OstreeAsyncProgress *d, GCancellable *e, GError **f), (a, b, c, d, e, f)) \
	FN(gboolean, ostree_repo_regenerate_summary, (OstreeRepo *a, GVariant *b, GCancellable *c, GError **d), (a, b, c, d)) \
	FN(gboolean, ostree_repo_resolve_rev, (OstreeRepo *a, const char *b, gboolean c, char **d, GError **e), (a, b, c, d, e)) \
	VOID(ostree_repo_set_disable_fsync, (OstreeRepo *a, gboolean b), (a, b)) \
	FN(gboolean, ostree_repo_set_ref_immediate, (OstreeRepo *a, const char *b, const char *c, const char *d, GCancellable *e, GError **f), (a, b, c, d, e, f)) \
	FN(gboolean, ostree_repo_static_delta_generate, (OstreeRepo *a, OstreeStaticDeltaGenerateOpt b, const char *c, const char *d, GVariant *e, GVariant *f, GCancellable *g, GError **h), (a, b, c, d, e, f, g, h)) \
	VOID(ostree_repo_transaction_set_ref, (OstreeRepo *a, const char *b, const char *c, const char *d), (a, b, c, d)) \
	FN(gboolean, ostree_repo_traverse_commit, (OstreeRepo *a, const char *b, int c, GHashTable **d, GCancellable *e, GError **f), (a, b, c, d, e, f)) \
	FN(gboolean, ostree_repo_write_commit_with_time, (OstreeRepo *a, const char *b, const char *c, const char *d, GVariant *e, OstreeRepoFile *f, guint64 g, char **h, GCancellable *i, GError **j), (a, b, c, d, e, f, g, h, i, j)) \
	FN(gboolean, ostree_repo_write_content, (OstreeRepo *a, const char *b, GInputStream *c, guint64 d, guchar **e, GCancellable *f, GError **g), (a, b, c, d, e, f, g)) \
	FN(gboolean, ostree_repo_write_metadata, (OstreeRepo *a, OstreeObjectType b, const char *c, GVariant *d, guchar **e, GCancellable *f, GError **g), (a, b, c, d, e, f, g)) \
	FN(gboolean, ostree_repo_write_mtree, (OstreeRepo *a, OstreeMutableTree *b, GFile **c, GCancellable *d, GError **e), (a, b, c, d, e)) \
	PTR(g_variant_new_va) \
	PTR(g_variant_builder_add_value) \
	PTR(g_variant_get_va) \
	PTR(g_variant_get_data) \
	PTR(g_variant_check_format_string)
/* clang-format on */

DLIB_DEFINE(OSTREE_FUNCTIONS, libostree, "libostree", "libostree-1.so.1", "libostree-1-1")

const char *ostree_dl_load(void)
{
	return dlib_load(&libostree);
}

DLIB_DEF_VA(GVariant *, g_variant_new, (const gchar *format_string, ...), format_string, (format_string, NULL, &ap))

void g_variant_builder_add(GVariantBuilder *builder, const gchar *format_string, ...)
{
	va_list ap;
	DLIB_CHECK(g_variant_new_va);
	va_start(ap, format_string);
	GVariant *v = DLIB_FN(g_variant_new_va)(format_string, NULL, &ap);
	va_end(ap);
	DLIB_FN(g_variant_builder_add_value)(builder, v);
}

/* With '&' in the format the caller borrows pointers into the value's
 * data: the value is serialised first, so that the child's data is a slice
 * of it and outlives the child. */
void g_variant_get_child(GVariant *value, gsize index_, const gchar *format_string, ...)
{
	va_list ap;
	DLIB_CHECK(g_variant_get_va);
	if (strchr(format_string, '&'))
		DLIB_FN(g_variant_get_data)(value);
	GVariant *child = g_variant_get_child_value(value, index_);
	va_start(ap, format_string);
	DLIB_FN(g_variant_get_va)(child, format_string, NULL, &ap);
	va_end(ap);
	g_variant_unref(child);
}

/* GLib looks the value up by the type the format string gives, with a
 * function it does not export; looking it up by key and checking the
 * format against it answers the same (FALSE for a value of another type). */
gboolean g_variant_lookup(GVariant *dictionary, const gchar *key, const gchar *format_string, ...)
{
	DLIB_CHECK(g_variant_get_va);
	DLIB_FN(g_variant_get_data)(dictionary);
	GVariant *value = g_variant_lookup_value(dictionary, key, NULL);
	if (!value)
		return FALSE;
	gboolean ok = DLIB_FN(g_variant_check_format_string)(value, format_string, FALSE);
	if (ok) {
		va_list ap;
		va_start(ap, format_string);
		DLIB_FN(g_variant_get_va)(value, format_string, NULL, &ap);
		va_end(ap);
	}
	g_variant_unref(value);
	return ok;
}
