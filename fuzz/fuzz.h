/* fuzz/fuzz.h - what every libFuzzer target of livegate shares: the entry
 * point's prototype and CHECK, which turns a broken invariant into a crash
 * the fuzzer keeps (the sanitizers catch the memory errors). */
#ifndef LG_FUZZ_H
#define LG_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { \
		if (!(x)) { \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #x); \
			abort(); \
		} \
	} while (0)

#endif
