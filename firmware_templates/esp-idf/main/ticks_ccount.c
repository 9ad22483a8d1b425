/* The Xtensa cycle counter (CCOUNT, at the CPU clock), extended to 64 bits in software: correct
 * while consecutive calls are less than 2^32 cycles apart (17.9 s at 240 MHz), which holds for
 * the two reads around one inference. */
#include "esp_cpu.h"
#include "ticks.h"

static uint32_t last;
static uint64_t high;

void ticks_init(void)
{
    last = esp_cpu_get_cycle_count();
}

uint64_t ticks_now(void)
{
    uint32_t now = esp_cpu_get_cycle_count();
    if (now < last)
        high += 1ull << 32;
    last = now;
    return high | now;
}

uint64_t ticks_start(void)
{
    return ticks_now(); /* a cycle counter has no phase to align */
}
