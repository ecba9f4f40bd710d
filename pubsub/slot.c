/* pubsub/slot.c - CRC16/XMODEM (poly 0x1021, init 0) and the hash tag
 * rule of the Redis Cluster specification ("Keys hash tags"). */
#include "slot.h"

#include <string.h>

static uint16_t crc16_update(uint16_t crc, const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		crc ^= (uint16_t)((unsigned char)buf[i] << 8);
		for (int b = 0; b < 8; b++)
			crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
	}
	return crc;
}

uint16_t ps_crc16(const char *buf, size_t len)
{
	return crc16_update(0, buf, len);
}

unsigned ps_key_slot(const char *key, size_t len)
{
	return ps_channel_slot("", 0, key, len);
}

/* The byte at offset i of prefix + name. */
static char at(const char *p, size_t plen, const char *n, size_t i)
{
	return i < plen ? p[i] : n[i - plen];
}

/* CRC16 of bytes [from, to) of prefix + name. */
static uint16_t crc_range(const char *p, size_t plen, const char *n, size_t from, size_t to)
{
	uint16_t crc = 0;

	if (from < plen)
		crc = crc16_update(crc, p + from, (to < plen ? to : plen) - from);
	if (to > plen) {
		size_t s = from > plen ? from - plen : 0;
		crc = crc16_update(crc, n + s, to - plen - s);
	}
	return crc;
}

unsigned ps_channel_slot(const char *prefix, size_t plen, const char *name, size_t nlen)
{
	size_t len = plen + nlen, open, close;

	/* The tag is between the first '{' and the first '}' after it, and
	 * counts only when not empty; it may straddle prefix and name. */
	for (open = 0; open < len && at(prefix, plen, name, open) != '{'; open++)
		;
	if (open < len) {
		for (close = open + 1; close < len && at(prefix, plen, name, close) != '}'; close++)
			;
		if (close < len && close > open + 1)
			return crc_range(prefix, plen, name, open + 1, close) & (PS_SLOTS - 1);
	}
	return crc_range(prefix, plen, name, 0, len) & (PS_SLOTS - 1);
}
