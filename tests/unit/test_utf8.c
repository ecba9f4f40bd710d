/* tests/unit/test_utf8.c - unit tests of common/utf8: UTF-8 as RFC 3629
 * defines it, checked against the table of well-formed sequences of the
 * Unicode Standard (table 3-7) over every 1- to 3-byte sequence and every
 * 4-byte lead; by name: the edges of each length, overlongs, surrogates,
 * code points past U+10FFFF, and sequences cut short. */
#include <check.h>
#include "check_main.h"
#include <string.h>

#include "utf8.h"

/* Unicode table 3-7: the length of the well-formed sequence at s[0..n),
 * or 0. Written as the table reads, independently of common/utf8.c. */
static size_t table_3_7(const unsigned char *s, size_t n)
{
	static const struct { unsigned char lo0, hi0, lo1, hi1; size_t len; } rows[] = {
		{ 0x00, 0x7f, 0, 0, 1 },
		{ 0xc2, 0xdf, 0x80, 0xbf, 2 },
		{ 0xe0, 0xe0, 0xa0, 0xbf, 3 },
		{ 0xe1, 0xec, 0x80, 0xbf, 3 },
		{ 0xed, 0xed, 0x80, 0x9f, 3 },
		{ 0xee, 0xef, 0x80, 0xbf, 3 },
		{ 0xf0, 0xf0, 0x90, 0xbf, 4 },
		{ 0xf1, 0xf3, 0x80, 0xbf, 4 },
		{ 0xf4, 0xf4, 0x80, 0x8f, 4 },
	};

	if (n == 0)
		return 0;
	for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
		if (s[0] < rows[r].lo0 || s[0] > rows[r].hi0)
			continue;
		if (rows[r].len == 1)
			return 1;
		if (n < rows[r].len || s[1] < rows[r].lo1 || s[1] > rows[r].hi1)
			return 0;
		for (size_t i = 2; i < rows[r].len; i++)
			if (s[i] < 0x80 || s[i] > 0xbf)
				return 0;
		return rows[r].len;
	}
	return 0;
}

START_TEST(every_short_sequence_against_the_table)
{
	unsigned char s[4];

	for (unsigned a = 0; a < 256; a++) {
		s[0] = (unsigned char)a;
		ck_assert_uint_eq(lg_utf8_seq(s, 1), table_3_7(s, 1));
		for (unsigned b = 0; b < 256; b++) {
			s[1] = (unsigned char)b;
			ck_assert_uint_eq(lg_utf8_seq(s, 2), table_3_7(s, 2));
			if (a < 0xe0 || a > 0xef)
				continue;
			for (unsigned c = 0; c < 256; c++) {
				s[2] = (unsigned char)c;
				if (lg_utf8_seq(s, 3) != table_3_7(s, 3))
					ck_abort_msg("%02x %02x %02x: %zu, table says %zu", a, b, c,
					             lg_utf8_seq(s, 3), table_3_7(s, 3));
			}
		}
	}
}
END_TEST

START_TEST(every_four_byte_lead_against_the_table)
{
	static const unsigned char tails[] = { 0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff };
	unsigned char s[4];

	for (unsigned a = 0xf0; a < 0x100; a++)
		for (unsigned b = 0; b < 256; b++)
			for (size_t c = 0; c < sizeof tails; c++)
				for (size_t d = 0; d < sizeof tails; d++) {
					s[0] = (unsigned char)a;
					s[1] = (unsigned char)b;
					s[2] = tails[c];
					s[3] = tails[d];
					if (lg_utf8_seq(s, 4) != table_3_7(s, 4))
						ck_abort_msg("%02x %02x %02x %02x", a, b, s[2], s[3]);
				}
}
END_TEST

#define SEQ(lit) ((const unsigned char *)(lit)), (sizeof(lit) - 1)

START_TEST(edges_of_each_length)
{
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\x00")), 1);
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\x7f")), 1);
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xc2\x80")), 2);              /* U+0080 */
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xdf\xbf")), 2);              /* U+07FF */
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xe0\xa0\x80")), 3);          /* U+0800 */
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xed\x9f\xbf")), 3);          /* U+D7FF */
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xee\x80\x80")), 3);          /* U+E000 */
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xef\xbf\xbf")), 3);          /* U+FFFF */
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xef\xbf\xbe")), 3);          /* U+FFFE: a noncharacter, valid */
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xf0\x90\x80\x80")), 4);      /* U+10000 */
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xf4\x8f\xbf\xbf")), 4);      /* U+10FFFF */
	/* Only the first sequence counts. */
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xc3\xa9\xff")), 2);
}
END_TEST

START_TEST(overlongs)
{
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xc0\x80")), 0);              /* NUL in 2 bytes */
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xc0\xaf")), 0);              /* '/' in 2 bytes */
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xc1\xbf")), 0);
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xe0\x80\x80")), 0);
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xe0\x9f\xbf")), 0);          /* U+07FF in 3 bytes */
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xf0\x80\x80\x80")), 0);
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xf0\x8f\xbf\xbf")), 0);      /* U+FFFF in 4 bytes */
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xf8\x88\x80\x80\x80")), 0);  /* 5-byte forms */
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xfc\x84\x80\x80\x80\x80")), 0);
}
END_TEST

START_TEST(surrogates)
{
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xed\xa0\x80")), 0);          /* U+D800 */
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xed\xaf\xbf")), 0);          /* U+DBFF */
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xed\xb0\x80")), 0);          /* U+DC00 */
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xed\xbf\xbf")), 0);          /* U+DFFF */
	/* A pair encoded as two (CESU-8) is two invalid sequences. */
	ck_assert_int_eq(lg_utf8_valid(SEQ("\xed\xa0\xbd\xed\xb8\x80")), 0);
}
END_TEST

START_TEST(past_u10ffff)
{
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xf4\x90\x80\x80")), 0);      /* U+110000 */
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xf4\xbf\xbf\xbf")), 0);
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xf5\x80\x80\x80")), 0);
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xf7\xbf\xbf\xbf")), 0);      /* U+1FFFFF */
	for (unsigned lead = 0xf5; lead <= 0xff; lead++) {
		unsigned char s[4] = { (unsigned char)lead, 0x80, 0x80, 0x80 };
		ck_assert_uint_eq(lg_utf8_seq(s, 4), 0);
	}
}
END_TEST

START_TEST(truncations_and_stray_bytes)
{
	static const char *const whole[] = { "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80" };
	unsigned char s[4];

	for (size_t i = 0; i < sizeof whole / sizeof whole[0]; i++) {
		size_t len = strlen(whole[i]);
		memcpy(s, whole[i], len);
		ck_assert_uint_eq(lg_utf8_seq(s, len), len);
		ck_assert_int_eq(lg_utf8_valid(s, len), 1);
		for (size_t k = 1; k < len; k++) {
			ck_assert_uint_eq(lg_utf8_seq(s, k), 0);          /* cut short */
			ck_assert_int_eq(lg_utf8_valid(s, k), 0);
		}
	}
	ck_assert_uint_eq(lg_utf8_seq((const unsigned char *)"", 0), 0);   /* nothing to read */
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\x80")), 0);                    /* a lone continuation */
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xbf")), 0);
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xc3\x28")), 0);                /* no continuation */
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xe2\x28\xa1")), 0);
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xe2\x82\x28")), 0);
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xf0\x9f\x98\x28")), 0);
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xfe")), 0);
	ck_assert_uint_eq(lg_utf8_seq(SEQ("\xff")), 0);
}
END_TEST

START_TEST(whole_texts)
{
	ck_assert_int_eq(lg_utf8_valid(NULL, 0), 1);
	ck_assert_int_eq(lg_utf8_valid(SEQ("plain ASCII {\"type\":\"ping\"}")), 1);
	ck_assert_int_eq(lg_utf8_valid(SEQ("a\0b")), 1);   /* NUL is a character */
	ck_assert_int_eq(lg_utf8_valid(SEQ("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80!")), 1);
	ck_assert_int_eq(lg_utf8_valid(SEQ("caf\xc3\xa9 \xff")), 0);
	ck_assert_int_eq(lg_utf8_valid(SEQ("\xff caf\xc3\xa9")), 0);
	ck_assert_int_eq(lg_utf8_valid(SEQ("caf\xc3")), 0);   /* cut at the end */
	/* Only n bytes are read. */
	ck_assert_int_eq(lg_utf8_valid((const unsigned char *)"ok\xff", 2), 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("utf8");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, every_short_sequence_against_the_table);
	tcase_add_test(tc, every_four_byte_lead_against_the_table);
	tcase_add_test(tc, edges_of_each_length);
	tcase_add_test(tc, overlongs);
	tcase_add_test(tc, surrogates);
	tcase_add_test(tc, past_u10ffff);
	tcase_add_test(tc, truncations_and_stray_bytes);
	tcase_add_test(tc, whole_texts);
	suite_add_tcase(s, tc);
	return lg_run_suite(s);
}
