/* STM32H7 (RM0433): LDO supply, voltage scale 1, HSI (64 MHz) -> PLL1 (P output) -> SYSCLK with
 * D1CPRE = 1, so the core runs at SYSCLK and the AXI/AHB bus at SYSCLK / ahb_div. */
#include <stdint.h>

#include "board_config.h"
#include "clocks.h"

#define REG(addr) (*(volatile uint32_t *)(addr))
#define RCC(off) REG(0x58024400u + (off))
#define RCC_CR RCC(0x00)
#define RCC_CFGR RCC(0x10)
#define RCC_D1CFGR RCC(0x18)
#define RCC_D2CFGR RCC(0x1C)
#define RCC_D3CFGR RCC(0x20)
#define RCC_PLLCKSELR RCC(0x28)
#define RCC_PLLCFGR RCC(0x2C)
#define RCC_PLL1DIVR RCC(0x30)
#define PWR_CSR1 REG(0x58024804u)
#define PWR_CR3 REG(0x5802480Cu)
#define PWR_D3CR REG(0x58024818u)
#define FLASH_ACR REG(0x52002000u)

#define CR3_BYPASS (1u << 0)
#define CR3_LDOEN (1u << 1)
#define CR3_SCUEN (1u << 2)
#define CSR1_ACTVOSRDY (1u << 13)
#define D3CR_VOS_SCALE1 (3u << 14)
#define D3CR_VOSRDY (1u << 13)
#define CR_PLL1ON (1u << 24)
#define CR_PLL1RDY (1u << 25)
#define CFGR_SW_PLL1 3u
#define PLL_REF_HZ (EDGETX_CLOCK_SOURCE_HZ / EDGETX_PLL_M)
#if PLL_REF_HZ < 1000000 || PLL_REF_HZ > 16000000
#error "PLL1 reference must be 1-16 MHz: change clock.pll_m"
#endif
#define PLL1RGE (PLL_REF_HZ > 8000000 ? 3u : PLL_REF_HZ > 4000000 ? 2u : PLL_REF_HZ > 2000000 ? 1u : 0u)
/* RM0433 table 17, voltage scale 1: flash programming delay by AXI clock. */
#define AXI_HZ (EDGETX_CPU_HZ / EDGETX_AHB_DIV)
#define WRHIGHFREQ (AXI_HZ > 185000000 ? 2u : AXI_HZ > 70000000 ? 1u : 0u)

void clocks_init(void)
{
    PWR_CR3 = (PWR_CR3 & ~(CR3_BYPASS | CR3_SCUEN)) | CR3_LDOEN;
    while (!(PWR_CSR1 & CSR1_ACTVOSRDY)) {
    }
    PWR_D3CR |= D3CR_VOS_SCALE1;
    while (!(PWR_D3CR & D3CR_VOSRDY)) {
    }
    RCC_PLLCKSELR = (RCC_PLLCKSELR & ~(3u | 0x3Fu << 4)) | EDGETX_PLL_M << 4; /* source HSI */
    RCC_PLLCFGR = (RCC_PLLCFGR & ~(0xFu)) | PLL1RGE << 2;   /* integer mode, wide VCO */
    RCC_PLL1DIVR = (RCC_PLL1DIVR & ~(0x1FFu | 0x7Fu << 9)) | (EDGETX_PLL_N - 1u) |
                   (EDGETX_PLL_SYSCLK_DIV - 1u) << 9;
    RCC_CR |= CR_PLL1ON;
    while (!(RCC_CR & CR_PLL1RDY)) {
    }
    FLASH_ACR = EDGETX_FLASH_WAIT_STATES | WRHIGHFREQ << 4;
    while ((FLASH_ACR & 0xFu) != EDGETX_FLASH_WAIT_STATES) {
    }
    RCC_D1CFGR = (RCC_D1CFGR & ~(0xFu | 7u << 4 | 0xFu << 8)) | EDGETX_HPRE | EDGETX_PPRE1 << 4;
    RCC_D2CFGR = (RCC_D2CFGR & ~(7u << 4 | 7u << 8)) | EDGETX_PPRE1 << 4 | EDGETX_PPRE2 << 8;
    RCC_D3CFGR = (RCC_D3CFGR & ~(7u << 4)) | EDGETX_PPRE1 << 4;
    RCC_CFGR = (RCC_CFGR & ~7u) | CFGR_SW_PLL1;
    while (((RCC_CFGR >> 3) & 7u) != CFGR_SW_PLL1) {
    }
}
