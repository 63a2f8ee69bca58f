package meta

// TokenRegistry keeps the tokens of a host's connections unique and finds
// the connection an MP_JOIN SYN names (RFC 8684 §3.1, §3.2). The stack
// shares one among all its connections and listeners.
type TokenRegistry interface {
	// Claim registers token for c and reports true, or false if the
	// token is in use.
	Claim(token uint32, c *Conn) bool
	// Release forgets token if c holds it.
	Release(token uint32, c *Conn)
	// Lookup returns the connection holding token, or nil.
	Lookup(token uint32) *Conn
}

// TokenTable is a map-based TokenRegistry. It is not safe for concurrent
// use.
type TokenTable struct {
	m map[uint32]*Conn
}

var _ TokenRegistry = (*TokenTable)(nil)

// NewTokenTable returns an empty table.
func NewTokenTable() *TokenTable { return &TokenTable{m: make(map[uint32]*Conn)} }

// Claim implements TokenRegistry.
func (t *TokenTable) Claim(token uint32, c *Conn) bool {
	if _, ok := t.m[token]; ok {
		return false
	}
	t.m[token] = c
	return true
}

// Release implements TokenRegistry.
func (t *TokenTable) Release(token uint32, c *Conn) {
	if t.m[token] == c {
		delete(t.m, token)
	}
}

// Lookup implements TokenRegistry.
func (t *TokenTable) Lookup(token uint32) *Conn { return t.m[token] }

// Len is the number of tokens held.
func (t *TokenTable) Len() int { return len(t.m) }

// maxKeyTries bounds the keys drawn while looking for an unused token.
const maxKeyTries = 16
