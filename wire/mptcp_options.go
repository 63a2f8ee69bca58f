package wire

// ParseMPTCPOption parses the MPTCP option at the start of b, whatever its
// subtype, and returns its value type (MPCapable, MPJoin, DSS, …) with the
// option's length. It boxes the value in an interface, so it allocates:
// per-segment code uses ParseMPTCPOptions or the per-subtype parsers.
//
// A subtype RFC 8684 does not define (0x9–0xe) is an *OptionError wrapping
// ErrBadValue; per RFC 8684 §3 a receiver ignores such options, so callers
// that only want to skip them test PeekMPTCPSubtype first.
func ParseMPTCPOption(b []byte) (MPTCPOption, int, error) {
	st, ok := PeekMPTCPSubtype(b)
	if !ok {
		// Let the common header check produce the precise error.
		_, err := checkMPTCP(b, st)
		return nil, 0, err
	}
	switch st {
	case SubtypeMPCapable:
		return box(ParseMPCapable(b))
	case SubtypeMPJoin:
		return box(ParseMPJoin(b))
	case SubtypeDSS:
		return box(ParseDSS(b))
	case SubtypeAddAddr:
		return box(ParseAddAddr(b))
	case SubtypeRemoveAddr:
		return box(ParseRemoveAddr(b))
	case SubtypeMPPrio:
		return box(ParseMPPrio(b))
	case SubtypeMPFail:
		return box(ParseMPFail(b))
	case SubtypeMPFastClose:
		return box(ParseMPFastClose(b))
	case SubtypeMPTCPRST:
		return box(ParseMPTCPRST(b))
	case SubtypeMPExperimental:
		return box(ParseMPExperimental(b))
	}
	return nil, 0, mptcpErr(st, int(b[1]), ErrBadValue, "unknown subtype")
}

// box turns a typed parse result into an MPTCPOption result, keeping the
// value even on error: MP_CAPABLE reports other versions that way.
func box[T MPTCPOption](v T, n int, err error) (MPTCPOption, int, error) {
	return v, n, err
}

// MPTCPOptions holds every MPTCP option of one segment, parsed: the MPTCP
// engine's view of a received segment (Linux calls it
// mptcp_options_received). Only the fields whose subtype Has reports are
// meaningful. Filling it allocates nothing; RemoveAddr.IDs aliases the
// segment.
type MPTCPOptions struct {
	present   uint16 // bit per subtype parsed without error
	malformed uint16 // bit per subtype that was present but malformed
	unknown   uint16 // bit per subtype this package does not know

	MPCapable   MPCapable
	MPJoin      MPJoin
	DSS         DSS
	AddAddr     AddAddr
	RemoveAddr  RemoveAddr
	MPPrio      MPPrio
	MPFail      MPFail
	MPFastClose MPFastClose
	MPTCPRST    MPTCPRST
}

// Has reports whether the segment carried a well-formed option of subtype st.
func (m *MPTCPOptions) Has(st MPTCPSubtype) bool { return m.present&(1<<(st&0xf)) != 0 }

// Malformed reports whether the segment carried an option of subtype st
// that did not parse.
func (m *MPTCPOptions) Malformed(st MPTCPSubtype) bool { return m.malformed&(1<<(st&0xf)) != 0 }

// Any reports whether the segment carried any MPTCP option, well-formed or
// not, known or not.
func (m *MPTCPOptions) Any() bool { return m.present|m.malformed|m.unknown != 0 }

// Reset clears m for reuse.
func (m *MPTCPOptions) Reset() { *m = MPTCPOptions{} }

// ParseMPTCPOptions parses the raw MPTCP options collected in o into m,
// which it resets first. It parses every option even when one is malformed
// and returns the first error. A malformed option is marked (Malformed) and
// its subtype is not reported by Has: the engine treats it as absent, which
// is what the fallback rules of RFC 8684 §3.7 act on. A second option of a
// subtype already seen in the segment is reported as an error and ignored.
// Options of the reserved subtypes 0x9–0xe and MP_EXPERIMENTAL are ignored
// (RFC 8684 §3: a receiver ignores what it does not understand).
func ParseMPTCPOptions(o *TCPOptions, m *MPTCPOptions) error {
	m.Reset()
	var first error
	n := o.NumMPTCP
	if n > len(o.MPTCP) {
		n = len(o.MPTCP)
	}
	for _, raw := range o.MPTCP[:n] {
		st, ok := PeekMPTCPSubtype(raw)
		if !ok {
			if _, err := checkMPTCP(raw, 0); err != nil && first == nil {
				first = err
			}
			continue
		}
		bit := uint16(1) << st
		if m.present&bit != 0 || m.malformed&bit != 0 {
			if first == nil {
				first = mptcpErr(st, int(raw[1]), ErrBadValue, "more than one option of this subtype in a segment")
			}
			continue
		}
		var err error
		switch st {
		case SubtypeMPCapable:
			m.MPCapable, _, err = ParseMPCapable(raw)
		case SubtypeMPJoin:
			m.MPJoin, _, err = ParseMPJoin(raw)
		case SubtypeDSS:
			m.DSS, _, err = ParseDSS(raw)
		case SubtypeAddAddr:
			m.AddAddr, _, err = ParseAddAddr(raw)
		case SubtypeRemoveAddr:
			m.RemoveAddr, _, err = ParseRemoveAddr(raw)
		case SubtypeMPPrio:
			m.MPPrio, _, err = ParseMPPrio(raw)
		case SubtypeMPFail:
			m.MPFail, _, err = ParseMPFail(raw)
		case SubtypeMPFastClose:
			m.MPFastClose, _, err = ParseMPFastClose(raw)
		case SubtypeMPTCPRST:
			m.MPTCPRST, _, err = ParseMPTCPRST(raw)
		default:
			m.unknown |= bit
			continue
		}
		if err != nil {
			m.malformed |= bit
			if first == nil {
				first = err
			}
			continue
		}
		m.present |= bit
	}
	return first
}
