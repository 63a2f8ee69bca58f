package wire

import "encoding/binary"

// TCP option kinds (IANA "TCP Option Kind Numbers").
const (
	OptionKindEOL           = 0 // RFC 9293 §3.2
	OptionKindNOP           = 1 // RFC 9293 §3.2
	OptionKindMSS           = 2 // RFC 9293 §3.2
	OptionKindWindowScale   = 3 // RFC 7323 §2
	OptionKindSACKPermitted = 4 // RFC 2018 §2
	OptionKindSACK          = 5 // RFC 2018 §3
	OptionKindTimestamps    = 8 // RFC 7323 §3
)

// Option lengths, kind and length bytes included.
const (
	optLenMSS           = 4  // RFC 9293 §3.2
	optLenWindowScale   = 3  // RFC 7323 §2.2
	optLenSACKPermitted = 2  // RFC 2018 §2
	optLenSACKBase      = 2  // RFC 2018 §3: kind, length, then 8 bytes a block
	optLenSACKBlock     = 8  // RFC 2018 §3
	optLenTimestamps    = 10 // RFC 7323 §3.2
	optLenMPTCPMin      = 3  // RFC 8684 §2: kind, length, subtype
)

// Limits on how many options of a kind TCPOptions keeps.
const (
	MaxSACKBlocks     = 4 // 40 option bytes hold at most 4 blocks (RFC 2018 §3)
	MaxMPTCPOptions   = 4 // MPTCP options kept raw per segment
	MaxUnknownOptions = 4 // unknown options kept raw per segment
)

// SACKBlock is one block of a SACK option (RFC 2018 §3): the bytes
// [Left, Right) have been received.
type SACKBlock struct {
	Left, Right uint32
}

// TCPOptions is the parsed option area of a TCP segment. Parsing fills it
// without allocating; the raw MPTCP and unknown options alias the segment.
//
// Parsing rules (ParseTCPOptions): EOL ends the list and NOPs are skipped
// (RFC 9293 §3.2); every other option has a length byte of at least 2 that
// stays within the buffer, and the kinds below have exactly the lengths
// their RFCs give. An option of a kind with one slot here (MSS, window
// scale, SACK-permitted, SACK, timestamps) that appears again replaces the
// earlier one, as Linux's tcp_parse_options does. MPTCP and unknown options
// beyond the arrays' capacity are not kept but counted in DroppedMPTCP and
// DroppedUnknown, so a segment is never mistaken for one without them.
//
// Emission (Len, Append) follows Linux's tcp_options_write layout:
//
//	MSS                                    kind 2, len 4
//	SACK-permitted + timestamps            4,2,8,10 + TSval + TSecr
//	  or NOP NOP + timestamps              1,1,8,10 + TSval + TSecr
//	NOP NOP + SACK-permitted (without TS)  1,1,4,2
//	NOP + window scale                     1,3,3,shift
//	NOP NOP + SACK                         1,1,5,2+8n + blocks
//	MPTCP options, each NOP-padded to 32 bits, in order
//	unknown options, each NOP-padded to 32 bits, in order
//
// so every part is 32-bit aligned and the whole is a multiple of 4 bytes,
// never more than TCPMaxOptionsLen (40). When the options would exceed 40
// bytes, Append leaves out, in this order until they fit: SACK blocks from
// the last one (Linux sizes SACK to the space other options leave, and RFC
// 2018 §4 puts the most recent block first), then unknown options from the
// last one, then MPTCP options from the last one. The other kinds need at
// most 20 bytes and always fit. Fit reports what will be kept.
type TCPOptions struct {
	HasMSS bool
	MSS    uint16

	HasWindowScale bool
	WindowScale    uint8 // shift count as received; RFC 7323 §2.3 caps use at 14

	SACKPermitted bool

	NumSACKBlocks int
	SACKBlocks    [MaxSACKBlocks]SACKBlock

	HasTimestamps bool
	TSVal, TSEcr  uint32

	// MPTCP holds the MPTCP options (kind 30) in order of appearance, each
	// from its kind byte to its last byte. Parse them with the MPTCP
	// parsers (ParseDSS, …).
	NumMPTCP int
	MPTCP    [MaxMPTCPOptions][]byte

	// Unknown holds options of other kinds, kind byte included.
	NumUnknown int
	Unknown    [MaxUnknownOptions][]byte

	// DroppedMPTCP and DroppedUnknown count the well-formed MPTCP and
	// unknown options that ParseTCPOptions found beyond MaxMPTCPOptions
	// and MaxUnknownOptions. Append ignores them.
	DroppedMPTCP   int
	DroppedUnknown int
}

// optionErr builds the error for a malformed option at the start of b
// (which holds at least the kind byte). Allocation happens only on the
// error path; it is kept out of line so the parsers' loops stay small.
//
//go:noinline
func optionErr(b []byte, err error, detail string) error {
	e := &OptionError{Kind: b[0], Length: -1, Err: err, Detail: detail}
	if len(b) >= 2 {
		e.Length = int(b[1])
	}
	if e.Kind == OptionKindMPTCP {
		if len(b) >= optLenMPTCPMin && e.Length >= optLenMPTCPMin {
			e.Subtype = MPTCPSubtype(b[2] >> 4)
		} else {
			// No subtype byte: an out-of-range value, so that the
			// error does not name a real subtype.
			e.Subtype = MPTCPSubtype(0xff)
		}
	}
	return e
}

// OptionIter walks a raw TCP option area without allocating and without
// interpreting options beyond their kind and length bytes, for tools that
// print or rewrite options:
//
//	it := wire.NewOptionIter(tcp.Options())
//	for kind, opt, ok := it.Next(); ok; kind, opt, ok = it.Next() { … }
//	if err := it.Err(); err != nil { … }
//
// It yields EOL and NOP as one-byte options and stops after EOL (RFC 9293
// §3.2). Every other option must have a length byte of at least 2 that
// stays within the buffer; otherwise Next returns false and Err an
// *OptionError. Kind-specific lengths are ParseTCPOptions' business.
type OptionIter struct {
	b   []byte
	off int
	err error
}

// NewOptionIter returns an iterator over the options in b.
func NewOptionIter(b []byte) OptionIter { return OptionIter{b: b} }

// Next returns the next option's kind and bytes, kind byte included. The
// bytes alias the buffer.
func (it *OptionIter) Next() (kind uint8, opt []byte, ok bool) {
	if it.off >= len(it.b) || it.err != nil {
		return 0, nil, false
	}
	rest := it.b[it.off:]
	kind = rest[0]
	switch kind {
	case OptionKindEOL:
		it.off = len(it.b) // RFC 9293 §3.2: the end of the option list
		return kind, rest[:1], true
	case OptionKindNOP:
		it.off++
		return kind, rest[:1], true
	}
	if len(rest) < 2 {
		it.err = optionErr(rest, ErrTruncated, "no length byte")
		return 0, nil, false
	}
	l := int(rest[1])
	if l < 2 {
		it.err = optionErr(rest, ErrBadLength, "length below 2")
		return 0, nil, false
	}
	if l > len(rest) {
		it.err = optionErr(rest, ErrTruncated, "option exceeds the option area")
		return 0, nil, false
	}
	it.off += l
	return kind, rest[:l], true
}

// Err returns the error that stopped the iteration, if any.
func (it *OptionIter) Err() error { return it.err }

// ParseTCPOptions parses the option area b of a TCP header into o, by the
// rules given on TCPOptions. It returns an *OptionError wrapping
// ErrTruncated or ErrBadLength for a malformed option, and then leaves o
// zeroed. It does not allocate on success; raw options in o alias b.
func ParseTCPOptions(b []byte, o *TCPOptions) error {
	*o = TCPOptions{}
	for i := 0; i < len(b); {
		kind := b[i]
		switch kind {
		case OptionKindEOL:
			return nil // RFC 9293 §3.2: the end of the option list
		case OptionKindNOP:
			i++
			continue
		}
		if len(b)-i < 2 {
			return o.fail(optionErr(b[i:], ErrTruncated, "no length byte"))
		}
		l := int(b[i+1])
		if l < 2 {
			return o.fail(optionErr(b[i:], ErrBadLength, "length below 2"))
		}
		if l > len(b)-i {
			return o.fail(optionErr(b[i:], ErrTruncated, "option exceeds the option area"))
		}
		opt := b[i : i+l]
		i += l
		switch kind {
		case OptionKindTimestamps:
			if l != optLenTimestamps {
				return o.fail(optionErr(opt, ErrBadLength, "timestamps must be 10 bytes"))
			}
			o.HasTimestamps = true
			o.TSVal = binary.BigEndian.Uint32(opt[2:])
			o.TSEcr = binary.BigEndian.Uint32(opt[6:])
		case OptionKindMPTCP:
			if l < optLenMPTCPMin {
				return o.fail(optionErr(opt, ErrBadLength, "MPTCP option shorter than 3 bytes"))
			}
			if o.NumMPTCP < MaxMPTCPOptions {
				o.MPTCP[o.NumMPTCP] = opt
				o.NumMPTCP++
			} else {
				o.DroppedMPTCP++
			}
		case OptionKindSACK:
			n := (l - optLenSACKBase) / optLenSACKBlock
			if (l-optLenSACKBase)%optLenSACKBlock != 0 || n < 1 || n > MaxSACKBlocks {
				return o.fail(optionErr(opt, ErrBadLength, "SACK must hold 1 to 4 blocks of 8 bytes"))
			}
			o.NumSACKBlocks = n
			for j := range n {
				p := opt[optLenSACKBase+j*optLenSACKBlock:]
				o.SACKBlocks[j] = SACKBlock{Left: binary.BigEndian.Uint32(p), Right: binary.BigEndian.Uint32(p[4:])}
			}
			clear(o.SACKBlocks[n:])
		case OptionKindMSS:
			if l != optLenMSS {
				return o.fail(optionErr(opt, ErrBadLength, "MSS must be 4 bytes"))
			}
			o.HasMSS = true
			o.MSS = binary.BigEndian.Uint16(opt[2:])
		case OptionKindWindowScale:
			if l != optLenWindowScale {
				return o.fail(optionErr(opt, ErrBadLength, "window scale must be 3 bytes"))
			}
			o.HasWindowScale = true
			o.WindowScale = opt[2]
		case OptionKindSACKPermitted:
			if l != optLenSACKPermitted {
				return o.fail(optionErr(opt, ErrBadLength, "SACK-permitted must be 2 bytes"))
			}
			o.SACKPermitted = true
		default:
			if o.NumUnknown < MaxUnknownOptions {
				o.Unknown[o.NumUnknown] = opt
				o.NumUnknown++
			} else {
				o.DroppedUnknown++
			}
		}
	}
	return nil
}

func (o *TCPOptions) fail(err error) error {
	*o = TCPOptions{}
	return err
}

// pad4 rounds n up to a multiple of 4.
func pad4(n int) int { return (n + 3) &^ 3 }

// fixedLen is the length of the options other than SACK, MPTCP and unknown
// ones in the Linux layout: at most 20 bytes.
func (o *TCPOptions) fixedLen() int {
	n := 0
	if o.HasMSS {
		n += 4
	}
	if o.HasTimestamps {
		n += 12 // SACK-permitted, if any, shares the first word
	} else if o.SACKPermitted {
		n += 4
	}
	if o.HasWindowScale {
		n += 4
	}
	return n
}

// Fit reports what Append writes: the number of SACK blocks, MPTCP options
// and unknown options it keeps (the first ones of each array) within
// TCPMaxOptionsLen bytes, by the order given on TCPOptions. Counts outside
// the arrays' range are clamped.
func (o *TCPOptions) Fit() (sackBlocks, mptcp, unknown int) {
	room := TCPMaxOptionsLen - o.fixedLen()
	mptcp = min(max(o.NumMPTCP, 0), MaxMPTCPOptions)
	unknown = min(max(o.NumUnknown, 0), MaxUnknownOptions)
	raw := 0
	for _, opt := range o.MPTCP[:mptcp] {
		raw += pad4(len(opt))
	}
	for _, opt := range o.Unknown[:unknown] {
		raw += pad4(len(opt))
	}
	for raw > room && unknown > 0 {
		unknown--
		raw -= pad4(len(o.Unknown[unknown]))
	}
	for raw > room && mptcp > 0 {
		mptcp--
		raw -= pad4(len(o.MPTCP[mptcp]))
	}
	room -= raw
	sackBlocks = min(max(o.NumSACKBlocks, 0), MaxSACKBlocks)
	if room < 4+optLenSACKBlock {
		sackBlocks = 0
	} else {
		sackBlocks = min(sackBlocks, (room-4)/optLenSACKBlock)
	}
	return sackBlocks, mptcp, unknown
}

// Len returns the number of bytes Append writes: a multiple of 4, at most
// TCPMaxOptionsLen.
func (o *TCPOptions) Len() int {
	sack, mptcp, unknown := o.Fit()
	n := o.fixedLen()
	if sack > 0 {
		n += 4 + sack*optLenSACKBlock
	}
	for _, opt := range o.MPTCP[:mptcp] {
		n += pad4(len(opt))
	}
	for _, opt := range o.Unknown[:unknown] {
		n += pad4(len(opt))
	}
	return n
}

// Append appends the options to b in the layout given on TCPOptions and
// returns the result. Raw MPTCP and unknown options are copied as they are:
// their length bytes are the caller's to get right. It does not allocate
// when b has room for Len() more bytes.
func (o *TCPOptions) Append(b []byte) []byte {
	sack, mptcp, unknown := o.Fit()
	if o.HasMSS {
		b = append(b, OptionKindMSS, optLenMSS, byte(o.MSS>>8), byte(o.MSS))
	}
	if o.HasTimestamps {
		if o.SACKPermitted {
			b = append(b, OptionKindSACKPermitted, optLenSACKPermitted, OptionKindTimestamps, optLenTimestamps)
		} else {
			b = append(b, OptionKindNOP, OptionKindNOP, OptionKindTimestamps, optLenTimestamps)
		}
		b = binary.BigEndian.AppendUint32(b, o.TSVal)
		b = binary.BigEndian.AppendUint32(b, o.TSEcr)
	} else if o.SACKPermitted {
		b = append(b, OptionKindNOP, OptionKindNOP, OptionKindSACKPermitted, optLenSACKPermitted)
	}
	if o.HasWindowScale {
		b = append(b, OptionKindNOP, OptionKindWindowScale, optLenWindowScale, o.WindowScale)
	}
	if sack > 0 {
		b = append(b, OptionKindNOP, OptionKindNOP, OptionKindSACK, byte(optLenSACKBase+sack*optLenSACKBlock))
		for _, blk := range o.SACKBlocks[:sack] {
			b = binary.BigEndian.AppendUint32(b, blk.Left)
			b = binary.BigEndian.AppendUint32(b, blk.Right)
		}
	}
	for _, opt := range o.MPTCP[:mptcp] {
		b = appendPadded(b, opt)
	}
	for _, opt := range o.Unknown[:unknown] {
		b = appendPadded(b, opt)
	}
	return b
}

// appendPadded appends a raw option and NOPs up to the next 32-bit
// boundary, as Linux pads its MPTCP options.
func appendPadded(b, opt []byte) []byte {
	b = append(b, opt...)
	for range pad4(len(opt)) - len(opt) {
		b = append(b, OptionKindNOP)
	}
	return b
}
