// Package privacy keeps customers' privacy choices in the store and
// applies them: tombstones of forgotten customers, opt-outs and opt-ins per
// channel, the filter imports use to drop forgotten customers' lines, and
// Forget, which removes a customer's rows from every layer handed to it.
//
// Nothing here stores a customer id. A tombstone or a consent record is
// keyed by the HMAC-SHA256 of the id under a per-store secret, kept in
// the store beside them, so the store recognises a returning id without
// remembering it. The layout under suppressions/ is documented in
// docs/PRIVACY.md.
package privacy
