/* STM32L4 (RM0351): HSI16 -> main PLL (R output) -> SYSCLK in voltage range 1 (the reset
 * default, up to 80 MHz). */
#include <stdint.h>

#include "board_config.h"
#include "clocks.h"

#define REG(addr) (*(volatile uint32_t *)(addr))
#define RCC_CR REG(0x40021000u)
#define RCC_CFGR REG(0x40021008u)
#define RCC_PLLCFGR REG(0x4002100Cu)
#define FLASH_ACR REG(0x40022000u)

#define CR_HSION (1u << 8)
#define CR_HSIRDY (1u << 10)
#define CR_PLLON (1u << 24)
#define CR_PLLRDY (1u << 25)
#define PLLSRC_HSI16 2u
#define PLLCFGR_PLLREN (1u << 24)
#define ACR_PRFTEN_ICEN_DCEN (7u << 8)
#define CFGR_SW_PLL 3u
#if EDGETX_PLL_SYSCLK_DIV % 2 != 0 || EDGETX_PLL_SYSCLK_DIV > 8
#error "PLLR divides by 2, 4, 6 or 8: change clock.pll_sysclk_div"
#endif

void clocks_init(void)
{
    RCC_CR |= CR_HSION;
    while (!(RCC_CR & CR_HSIRDY)) {
    }
    RCC_PLLCFGR = PLLSRC_HSI16 | (EDGETX_PLL_M - 1u) << 4 | EDGETX_PLL_N << 8 | PLLCFGR_PLLREN |
                  (EDGETX_PLL_SYSCLK_DIV / 2u - 1u) << 25;
    RCC_CR |= CR_PLLON;
    while (!(RCC_CR & CR_PLLRDY)) {
    }
    FLASH_ACR = EDGETX_FLASH_WAIT_STATES | ACR_PRFTEN_ICEN_DCEN;
    while ((FLASH_ACR & 7u) != EDGETX_FLASH_WAIT_STATES) {
    }
    RCC_CFGR = (RCC_CFGR & ~(0xFu << 4 | 7u << 8 | 7u << 11)) | EDGETX_HPRE << 4 |
               EDGETX_PPRE1 << 8 | EDGETX_PPRE2 << 11;
    RCC_CFGR = (RCC_CFGR & ~3u) | CFGR_SW_PLL;
    while (((RCC_CFGR >> 2) & 3u) != CFGR_SW_PLL) {
    }
}
