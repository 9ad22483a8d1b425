/* Per-operator profiler for bench/aot_qemu.py: replaces the device agent in a bench-only build of
 * the Cortex-M template, compiled with -DEDGETX_TRACE so the generated model calls edgetx_trace()
 * after every operator. Prints, as text on the console:
 *   spin <ticks>        a loop of SPIN_INSTRUCTIONS instructions, to check instructions per tick
 *   hook <ticks>        what RUNS x HOOK_CALLS empty operators are charged: the hook's own cost
 *   op <index> <ticks>  each operator, summed over RUNS inferences
 *   end
 * Ticks are summed over several runs so the 1-tick resolution averages out. */
#include <stddef.h>
#include <stdint.h>

#include "console.h"
#include "edgetx_model.h"
#include "ticks.h"

#define RUNS 8
#define HOOK_CALLS 64
#define SPIN_ITERATIONS 1000000u /* two instructions each */

static int8_t input[EDGETX_MODEL_INPUT_BYTES] __attribute__((aligned(16)));
static int8_t output[EDGETX_MODEL_OUTPUT_BYTES] __attribute__((aligned(16)));
/* One slot per operator, and a last one for calibrating the hook with empty "operators". */
static uint64_t op_ticks[EDGETX_PROFILE_OPS + 1];
static uint64_t mark;

void edgetx_trace(int op_index, int tensor_index, const int8_t *data, int32_t size)
{
    (void)tensor_index;
    (void)data;
    (void)size;
    uint64_t now = ticks_now();
    if (op_index >= 0 && op_index <= EDGETX_PROFILE_OPS)
        op_ticks[op_index] += now - mark;
    mark = ticks_now();
}

static void put_u64(const char *label, int64_t index, uint64_t value)
{
    char buf[64], digits[24];
    size_t n = 0, k = 0;
    while (*label)
        buf[n++] = (char)*label++;
    if (index >= 0) {
        uint64_t v = (uint64_t)index;
        buf[n++] = ' ';
        do
            digits[k++] = (char)('0' + v % 10u);
        while ((v /= 10u) != 0);
        while (k)
            buf[n++] = digits[--k];
    }
    buf[n++] = ' ';
    do
        digits[k++] = (char)('0' + value % 10u);
    while ((value /= 10u) != 0);
    while (k)
        buf[n++] = digits[--k];
    buf[n++] = '\n';
    console_write((const uint8_t *)buf, n);
}

static void spin(uint32_t n)
{
    __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(n) : : "cc");
}

int main(void)
{
    uint32_t seed = 12345u;
    console_init();
    ticks_init();
    for (size_t i = 0; i < sizeof input; i++) { /* xorshift32: any fixed input will do */
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        input[i] = (int8_t)seed;
    }
    uint64_t start = ticks_now();
    spin(SPIN_ITERATIONS);
    put_u64("spin", -1, ticks_now() - start);

    mark = ticks_now();
    for (int i = 0; i < RUNS * HOOK_CALLS; i++)
        edgetx_trace(EDGETX_PROFILE_OPS, 0, input, 0);
    put_u64("hook", -1, op_ticks[EDGETX_PROFILE_OPS]);

    for (int r = 0; r < RUNS; r++) {
        mark = ticks_now();
        edgetx_model_invoke(input, output);
    }
    for (int i = 0; i < EDGETX_PROFILE_OPS; i++)
        if (op_ticks[i])
            put_u64("op", i, op_ticks[i]);
    console_write((const uint8_t *)"end\n", 4);
    for (;;) {
    }
}
