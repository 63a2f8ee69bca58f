package tcp

import "fmt"

// State is a connection state of RFC 9293 §3.3.2.
type State uint8

// Connection states.
const (
	StateClosed State = iota
	StateListen
	StateSynSent
	StateSynReceived
	StateEstablished
	StateFinWait1
	StateFinWait2
	StateCloseWait
	StateClosing
	StateLastAck
	StateTimeWait
)

var stateNames = [...]string{
	"CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1",
	"FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT",
}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// synchronized reports the synchronized states of RFC 9293 §3.5.2.
func (s State) synchronized() bool { return s >= StateEstablished }

// canSendData: states in which the send side may still carry data.
func (s State) canSendData() bool {
	return s == StateEstablished || s == StateCloseWait || s == StateFinWait1 ||
		s == StateClosing || s == StateLastAck
}

// canRecvData: states in which segment text is accepted (RFC 9293
// §3.10.7.4, seventh check).
func (s State) canRecvData() bool {
	return s == StateEstablished || s == StateFinWait1 || s == StateFinWait2
}
