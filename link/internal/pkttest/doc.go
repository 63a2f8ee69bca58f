// Package pkttest builds and takes apart IP packets for the tests of the
// link packages. It uses gopacket, so that tests check gomptcp's own codecs
// and checksum code against an independent implementation.
package pkttest
