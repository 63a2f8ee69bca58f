package tcp

// SegmentKind classifies an outgoing segment for Hooks.WriteOptions.
type SegmentKind uint8

// Outgoing segment kinds.
const (
	KindSYN    SegmentKind = iota // SYN (active open)
	KindSYNACK                    // SYN-ACK (passive or simultaneous open)
	KindData                      // carries payload and/or FIN
	KindACK                       // pure ACK (incl. window updates, challenge ACKs)
	KindRST                       // reset
	KindProbe                     // zero-window probe or keepalive probe
)

var kindNames = [...]string{"SYN", "SYN-ACK", "data", "ACK", "RST", "probe"}

func (k SegmentKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "SegmentKind(?)"
}

// OutInfo describes an outgoing segment to Hooks.WriteOptions.
type OutInfo struct {
	Kind SegmentKind
	// Retransmission is set for a retransmitted SYN, SYN-ACK or data
	// segment (RTO, fast retransmit, tail loss probe of old data).
	Retransmission bool
	// TLP is set for a tail loss probe (RFC 8985 §7).
	TLP bool
	// Chunk describes the chunk the payload belongs to, when it was
	// written with WriteChunk: HasChunk, ChunkID, and the offset of the
	// payload's first byte within the chunk and the chunk's length.
	HasChunk    bool
	ChunkID     uint64
	ChunkOffset int
	ChunkLen    int
	// ResetReason is set for KindRST.
	ResetReason ResetReason
}

// Verdict is a hook's decision on an incoming segment.
type Verdict uint8

// Verdicts.
const (
	Accept Verdict = iota // process normally
	Drop                  // discard silently
	Reset                 // discard and reset the connection (send RST)
)

// Hooks let the layer above (MPTCP) see and extend every segment. All
// methods are called synchronously from Input and Poll; they must not call
// back into the Conn except for read-only methods (State, Info, …).
type Hooks interface {
	// WriteOptions is called for every outgoing segment, SYNs, pure ACKs,
	// probes, RSTs and retransmissions included, after the TCP options
	// are set. It may add options to seg.Options (MPTCP options alias
	// memory the hook owns and must stay valid until the segment is
	// encoded). space is the option space left, in bytes, as OptionsLen
	// counts it.
	WriteOptions(seg *Segment, info OutInfo, space int)
	// CheckSegment sees every incoming segment before TCP processing and
	// may drop it or reset the connection.
	CheckSegment(seg *Segment, st State) Verdict
	// SegmentProcessed sees every incoming segment that passed the
	// acceptability checks, after TCP processing; st is the new state.
	SegmentProcessed(seg *Segment, st State)
}

// DataOptionSizer may be implemented by Hooks that add fewer options to
// some data segments than Config.OptionReserve keeps free on all of them.
// Before it sizes a new data segment, the engine passes what OutInfo will
// say of it (Kind, HasChunk, ChunkID, ChunkOffset, ChunkLen); the answer,
// at most OptionReserve, is the option space kept free on that segment,
// whose payload grows by the rest. WriteOptions is then given the space
// actually left, as always. Retransmissions keep the original sizes.
type DataOptionSizer interface {
	DataOptionSpace(info OutInfo) int
}

// NopHooks implements Hooks and does nothing; embed it to implement only
// some of the methods.
type NopHooks struct{}

func (NopHooks) WriteOptions(*Segment, OutInfo, int)  {}
func (NopHooks) CheckSegment(*Segment, State) Verdict { return Accept }
func (NopHooks) SegmentProcessed(*Segment, State)     {}

var _ Hooks = NopHooks{}
