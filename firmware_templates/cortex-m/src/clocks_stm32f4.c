/* STM32F4 and STM32F7 (same RCC, PWR and flash interface addresses): HSI -> main PLL (P output)
 * -> SYSCLK, voltage scale 1, over-drive when the manifest asks for it (F446 above 168 MHz,
 * F7 above 180 MHz). Values come from the manifest's [clock] table via board_config.h. */
#include <stdint.h>

#include "board_config.h"
#include "clocks.h"

#define REG(addr) (*(volatile uint32_t *)(addr))
#define RCC_CR REG(0x40023800u)
#define RCC_PLLCFGR REG(0x40023804u)
#define RCC_CFGR REG(0x40023808u)
#define RCC_APB1ENR REG(0x40023840u)
#define PWR_CR REG(0x40007000u)
#define PWR_CSR REG(0x40007004u)
#define FLASH_ACR REG(0x40023C00u)

#define CR_PLLON (1u << 24)
#define CR_PLLRDY (1u << 25)
#define APB1ENR_PWREN (1u << 28)
#define PWR_VOS_SCALE1 (3u << 14)
#define PWR_OD (1u << 16)   /* CR: ODEN, CSR: ODRDY */
#define PWR_ODSW (1u << 17) /* CR: ODSWEN, CSR: ODSWRDY */
#define ACR_PRFTEN (1u << 8)
#define ACR_CACHE (1u << 9) /* ICEN on F4, ARTEN on F7 */
#define PLLCFGR_FIELDS (0x3Fu | 0x1FFu << 6 | 3u << 16 | 1u << 22) /* M, N, P, SRC (0: HSI) */
#define CFGR_SW_PLL 2u
#if EDGETX_PLL_SYSCLK_DIV % 2 != 0 || EDGETX_PLL_SYSCLK_DIV > 8
#error "PLLP divides by 2, 4, 6 or 8: change clock.pll_sysclk_div"
#endif

void clocks_init(void)
{
    RCC_APB1ENR |= APB1ENR_PWREN;
    (void)RCC_APB1ENR;
    PWR_CR |= PWR_VOS_SCALE1;
    RCC_PLLCFGR = (RCC_PLLCFGR & ~PLLCFGR_FIELDS) | EDGETX_PLL_M | EDGETX_PLL_N << 6 |
                  (EDGETX_PLL_SYSCLK_DIV / 2u - 1u) << 16;
    RCC_CR |= CR_PLLON;
    while (!(RCC_CR & CR_PLLRDY)) {
    }
#if EDGETX_OVERDRIVE
    PWR_CR |= PWR_OD;
    while (!(PWR_CSR & PWR_OD)) {
    }
    PWR_CR |= PWR_ODSW;
    while (!(PWR_CSR & PWR_ODSW)) {
    }
#endif
    /* More wait states before the clock goes up, never after. */
    FLASH_ACR = EDGETX_FLASH_WAIT_STATES | ACR_PRFTEN | ACR_CACHE;
    while ((FLASH_ACR & 0xFu) != EDGETX_FLASH_WAIT_STATES) {
    }
    RCC_CFGR = (RCC_CFGR & ~(0xFu << 4 | 7u << 10 | 7u << 13)) | EDGETX_HPRE << 4 |
               EDGETX_PPRE1 << 10 | EDGETX_PPRE2 << 13;
    RCC_CFGR = (RCC_CFGR & ~3u) | CFGR_SW_PLL;
    while (((RCC_CFGR >> 2) & 3u) != CFGR_SW_PLL) {
    }
}
