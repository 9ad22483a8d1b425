/* SysTick on the core clock, wrapping every 2^24 ticks; the wrap interrupt extends it to 64 bits.
 * (The DWT cycle counter would be simpler, but QEMU does not emulate it.) */
#include "ticks.h"

#include "board_config.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define CSR_ENABLE_TICKINT_CORECLK 0x7u
#define RELOAD 0xFFFFFFu

static volatile uint32_t wraps;

void SysTick_Handler(void)
{
    wraps++;
}

void ticks_init(void)
{
    SYST_RVR = RELOAD;
    SYST_CVR = 0;
    SYST_CSR = CSR_ENABLE_TICKINT_CORECLK;
}

uint64_t ticks_now(void)
{
    uint32_t hi, down;
    do { /* re-read if a wrap interrupt ran in between */
        hi = wraps;
        down = SYST_CVR;
    } while (hi != wraps);
    return ((uint64_t)hi << 24) | (RELOAD - down);
}

uint64_t ticks_start(void)
{
#if EDGETX_EMULATED
    /* Under QEMU -icount the wrap interrupt is taken exactly at its deadline and sleep=off skips
     * the wait, so the phase after WFI is fixed. Without this, the phase depends on how long the
     * agent polled the UART (host timing) and a count can move by one tick. */
    uint32_t seen = wraps;
    while (wraps == seen)
        __asm volatile("wfi");
    while (SYST_CVR == 0) /* the wrap is counted; wait for the reload so the two agree */
        ;
#endif
    return ticks_now();
}
