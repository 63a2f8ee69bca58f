package main

import "github.com/gomptcp/mptcp/interop/payload"

// Payload is the deterministic pseudo-random byte stream sent for
// --send-bytes: the SplitMix64 stream of package interop/payload, which
// gomptcp's own transfer commands send and check too.
type Payload = payload.Stream

// NewPayload returns the stream of seed.
func NewPayload(seed uint64) *Payload { return payload.New(seed) }
