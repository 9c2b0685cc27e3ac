package bot

import "encoding/binary"

// Storage keys. Kept in one place so every query agrees on their layout.

func keyConvKey(ch Channel, userID, thread string) []byte {
	return []byte(string(ch) + "/" + userID + "/" + thread)
}

// keyMessage is conversation id, '/', then the big-endian sequence number so
// a prefix scan walks a conversation's messages in order.
func keyMessage(convID string, seq uint64) []byte {
	k := make([]byte, 0, len(convID)+9)
	k = append(k, convID...)
	k = append(k, '/')
	return binary.BigEndian.AppendUint64(k, seq)
}

func keyMessagePrefix(convID string) []byte { return []byte(convID + "/") }

func keyClientID(convID, clientID string) []byte { return []byte(convID + "/" + clientID) }

func keyTransition(convID string, seq uint64) []byte { return keyMessage(convID, seq) }
