/* pubsub/slot.h - Redis Cluster's key slot of a channel name: CRC16
 * (XMODEM) modulo 16384, of the hash tag {...} when the name has a
 * non-empty one, exactly as the server computes it for SSUBSCRIBE and
 * SPUBLISH. */
#ifndef LG_PUBSUB_SLOT_H
#define LG_PUBSUB_SLOT_H

#include <stddef.h>
#include <stdint.h>

#define PS_SLOTS 16384

uint16_t ps_crc16(const char *buf, size_t len);

/* Returns the slot (0..16383) of key[0..len). */
unsigned ps_key_slot(const char *key, size_t len);

/* The slot of prefix + name, without building the concatenation. */
unsigned ps_channel_slot(const char *prefix, size_t plen, const char *name, size_t nlen);

#endif
