// Package impair models a network link direction as a link.Middleware:
// serialization at a bit rate behind a drop-tail queue, propagation delay
// with jitter, random loss (Bernoulli and Gilbert–Elliott bursts),
// reordering, duplication, bit corruption, an MTU, and outages.
//
// An Impairer is sans-IO: packets and the current time go in through
// Process, packets come out of Poll, and Deadline says when Poll is next
// due. The simulator in link/sim models each of its link directions with
// one; over a real backend, link.Driver runs one on wall-clock time.
// Timing does not depend on how promptly Poll is called: every packet
// leaves at the virtual time computed for it, and a late Poll emits, in
// order, all packets that fell due.
//
// Inside, time is a count of nanoseconds since the Impairer's origin (the
// first time it is given, or the one given to NewAt). ProcessAt, PollAt
// and NextAt take and return times in that form, as durations since the
// origin, and so spare a caller that keeps time that way, as the simulator
// does, the conversions to and from time.Time; they behave exactly as
// Process, Poll and Deadline.
//
// # Model
//
// A packet offered to Process at time t goes through these stages:
//
//  1. It is dropped if the link is down (SetUp, or inside an Outage), if it
//     is larger than MTU, or if the loss processes say so. Bernoulli loss
//     and Gilbert–Elliott loss are independent; either can drop it.
//  2. With a Rate, it joins a FIFO queue of the packets waiting for and in
//     transmission; if that would exceed QueuePackets or QueueBytes it is
//     dropped instead (drop-tail). The transmitter sends one packet at a
//     time, taking len×8/Rate seconds (rounded up to the nanosecond). A Rate
//     of zero means no serialization delay and no queue.
//  3. When its transmission ends, it may be corrupted (one uniformly chosen
//     bit flipped) and duplicated, and it starts propagating: it arrives
//     Delay ± a uniform jitter later. Arrivals keep the order of
//     transmission (a packet never arrives before the one sent before it)
//     unless it is chosen for reordering, in which case it is held back by
//     an extra ReorderDelay and later packets may overtake it. A duplicate
//     arrives right after its original.
//
// A super-packet (ProcessSuperAt: the segments of a TCP burst, as a NIC
// with segmentation offload takes them) goes through the same stages as
// its segments back to back, counted as them, but as one unit: on a link
// with no random process, with room in the queue for all of them, it
// arrives whole when its last segment would, through SuperEmitter.
//
// When the link goes down, packets queued or propagating are lost. Every
// random decision draws from its own stream (loss, burst, jitter, reorder,
// duplicate, corrupt), each a PCG generator seeded from Config.Seed, so a
// run is reproducible from its seed and enabling one impairment does not
// change the decisions of another.
package impair
