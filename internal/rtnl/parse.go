package rtnl

// Message is a decoded link or address message.
type Message struct {
	Type uint16 // RTMNewLink, RTMDelLink, RTMNewAddr or RTMDelAddr
	Link Link   // for RTMNewLink and RTMDelLink
	Addr Addr   // for RTMNewAddr and RTMDelAddr
}

// Parse decodes the payload b, after the netlink header, of a message of
// type typ: ParseLink for RTM_NEWLINK and RTM_DELLINK, ParseAddr for
// RTM_NEWADDR and RTM_DELADDR. Other types give an error wrapping
// ErrMalformed.
func Parse(typ uint16, b []byte) (Message, error) {
	m := Message{Type: typ}
	var err error
	switch typ {
	case RTMNewLink, RTMDelLink:
		m.Link, err = ParseLink(b)
	case RTMNewAddr, RTMDelAddr:
		m.Addr, err = ParseAddr(b)
	default:
		return Message{}, malformed("message type %d is not a link or address message", typ)
	}
	if err != nil {
		return Message{}, err
	}
	return m, nil
}

// Append appends the payload of m (Link.Append or Addr.Append, by m.Type)
// and returns the extended buffer; a Message of another type appends
// nothing.
func (m Message) Append(b []byte) []byte {
	switch m.Type {
	case RTMNewLink, RTMDelLink:
		return m.Link.Append(b)
	case RTMNewAddr, RTMDelAddr:
		return m.Addr.Append(b)
	}
	return b
}
