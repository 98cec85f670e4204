// Limits of the region's side of edge sessions (issue 14). Every one is named here.

/** A DELTA page's bytes after decompression (a page past it is refused: page-too-large). */
export const SYNC_PAGE_DECODED_BYTES_MAX = 4 * 1024 * 1024;
/** A SyncMessage's bytes on the wire (the gRPC receive limit of the EdgeSync stream). */
export const SYNC_MESSAGE_BYTES_MAX = 4 * 1024 * 1024;
/** The byte budget of a download page before compression. */
export const SYNC_DOWNLOAD_PAGE_BYTES = 64 * 1024;
/** DELTAs the region sends before the edge ACKs (the edge's HELLO may ask for fewer). */
export const SYNC_WINDOW_DEFAULT = 8;
export const SYNC_WINDOW_MAX = 64;
/** The edge's HELLO must arrive within this after the stream opens. */
export const SYNC_HELLO_DEADLINE_MS = 10_000;
/** A HEARTBEAT is sent when the session has been quiet this long. */
export const SYNC_HEARTBEAT_MS = 2_000;
/** A peer silent this long (no message at all) ends the session. */
export const SYNC_PEER_SILENCE_MS = 15_000;
/** Known-edge entries (Raft) for one session: at most one per this interval, plus open and close. */
export const EDGE_RECORD_INTERVAL_MS = 1_000;
/** Namespaces one HELLO may name. */
export const SYNC_HELLO_NAMESPACES_MAX = 1000;
/** Origins one vector may name. */
export const SYNC_VECTOR_ORIGINS_MAX = 100_000;
