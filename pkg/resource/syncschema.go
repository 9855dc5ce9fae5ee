package resource

import "strings"

// The sync's schema names in its PostgreSQL target: one rule, read by the
// spec's validation, the planner and the sync node alike.
//
// A fleet without a namespace (sync.namespace unset) uses the old system's
// names: sync_metadata and client_NAME. A fleet with namespace NS uses
// NS_sync_metadata and NS_client_NAME. A namespace is [a-z][a-z0-9]* (no
// '_'), so the part before the first '_' tells whose a schema is: two
// namespaces never produce the same name, and no namespace but "client"
// (refused) can produce a name of the default set. PostgreSQL truncates
// identifiers longer than MaxIdentifier bytes, so a longer name is refused
// rather than silently shortened into another fleet's.

// SyncMetaSchemaBase is the metadata schema's name without a namespace.
const SyncMetaSchemaBase = "sync_metadata"

// MaxIdentifier is PostgreSQL's identifier limit (NAMEDATALEN - 1), in bytes.
const MaxIdentifier = 63

// SyncMetaSchema is the metadata schema of namespace ns ("" for none).
func SyncMetaSchema(ns string) string {
	if ns == "" {
		return SyncMetaSchemaBase
	}
	return ns + "_" + SyncMetaSchemaBase
}

// SyncClientSchema is a client's schema in namespace ns: client_NAME with
// the name's hyphens as underscores (client names are [a-z0-9-]: no
// collision), prefixed by NS_ when ns is set.
func SyncClientSchema(ns, client string) string {
	s := "client_" + strings.ReplaceAll(client, "-", "_")
	if ns != "" {
		s = ns + "_" + s
	}
	return s
}

// SyncCanarySchema is the certification canary's schema in namespace ns:
// the metadata schema's name with _canary (NS_sync_metadata_canary).
func SyncCanarySchema(ns string) string { return CanarySchemaOf(SyncMetaSchema(ns)) }

// CanarySchemaOf is the canary's schema beside the metadata schema meta (a
// node is told its metadata schema, not its namespace).
func CanarySchemaOf(meta string) string { return meta + "_canary" }
