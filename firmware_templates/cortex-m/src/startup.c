/* Vector table and reset handler: enable the FPU, copy .data from flash, zero .bss, set up the
 * clocks of a real STM32, run static constructors and main. */
#include <stdint.h>

#include "board_config.h"
#include "clocks.h"

#define CPACR (*(volatile uint32_t *)0xE000ED88u)
#define CPACR_CP10_CP11_FULL (0xFu << 20)

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack; /* from linker.ld */
/* C++ static constructors; linker.ld puts .preinit_array right before .init_array. */
typedef void (*vector)(void);
extern const vector __preinit_array_start[], __init_array_end[];

int main(void);
void Reset_Handler(void);
/* newlib's exit path calls _fini; -nostartfiles leaves it out. */
void _fini(void) {}

void Default_Handler(void)
{
    for (;;) {
    }
}

void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));
void HardFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void MemManage_Handler(void) __attribute__((weak, alias("Default_Handler")));
void BusFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void UsageFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));

__attribute__((section(".vectors"), used)) static const vector vectors[16] = {
    (vector)&_estack, Reset_Handler, NMI_Handler, HardFault_Handler, MemManage_Handler,
    BusFault_Handler, UsageFault_Handler, 0, 0, 0, 0, SVC_Handler, 0, 0, PendSV_Handler,
    SysTick_Handler,
};

void Reset_Handler(void)
{
#if EDGETX_HAS_FPU
    /* Before any floating-point instruction, or the core faults. */
    CPACR |= CPACR_CP10_CP11_FULL;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    const uint32_t *src = &_sidata;
    for (uint32_t *dst = &_sdata; dst < &_edata;)
        *dst++ = *src++;
    for (uint32_t *dst = &_sbss; dst < &_ebss;)
        *dst++ = 0;
#if EDGETX_HAS_CLOCKS
    clocks_init();
#endif
    /* Not newlib's __libc_init_array: it would add 80 bytes to every C firmware for nothing. */
    for (const vector *f = __preinit_array_start; f < __init_array_end; f++)
        (*f)();
    main();
    for (;;) {
    }
}
