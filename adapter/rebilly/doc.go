// Package rebilly is the Rebilly protocol: typed requests and responses,
// one strict decoder for every Rebilly body, and an HTTP client that
// classifies each call as success, rejected, transient or unknown (with
// whether the request was sent), as adapter/praxis does for Praxis. It
// knows nothing of NATS. The reference is ../shared/rebilly/API.md.
package rebilly
