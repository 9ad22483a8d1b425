/* STM32 USART, polled. Two register layouts: v1 (F1/F2/F4: SR, DR, BRR, CR1) and v2
 * (F0/F3/F7/L4/H7: CR1, BRR, ISR, ICR, RDR, TDR). The pins get their alternate function and
 * the USART and GPIO port their RCC clock enable first; QEMU ignores RCC and BRR writes but
 * drops received bytes until CR1's UE, TE and RE are set. */
#include "board_config.h"
#include "console.h"

#define REG(addr) (*(volatile uint32_t *)(addr))
#define USART(off) REG(EDGETX_CONSOLE_BASE + (off))

#if EDGETX_USART_LAYOUT == 1
#define USART_STATUS USART(0x00)
#define USART_RX USART(0x04)
#define USART_TX USART(0x04)
#define USART_BRR USART(0x08)
#define USART_CR1 USART(0x0C)
#define CR1_UE (1u << 13)
#else
#define USART_CR1 USART(0x00)
#define USART_BRR USART(0x0C)
#define USART_STATUS USART(0x1C)
#define USART_ICR USART(0x20)
#define USART_RX USART(0x24)
#define USART_TX USART(0x28)
#define CR1_UE (1u << 0)
#endif
#define CR1_RE (1u << 2)
#define CR1_TE (1u << 3)
#define STATUS_ORE (1u << 3)
#define STATUS_RXNE (1u << 5)
#define STATUS_TXE (1u << 7)

/* Oversampling by 16: BRR holds fck / baud, rounded. */
#define BRR ((EDGETX_CONSOLE_CLOCK_HZ + EDGETX_CONSOLE_BAUD / 2u) / EDGETX_CONSOLE_BAUD)
#if BRR < 16 || BRR > 0xFFFF
#error "console.baud cannot be reached from console.clock_hz with oversampling by 16"
#endif

#define GPIO(port, off) REG(EDGETX_GPIO_BASE + EDGETX_GPIO_STRIDE * (port) + (off))
#define GPIO_MODER 0x00
#define GPIO_PUPDR 0x0C
#define GPIO_AFR 0x20

/* Put a pin in alternate-function mode EDGETX_CONSOLE_PIN_AF; pull_up for RX, so an unplugged
 * line idles high instead of reading noise as start bits. */
static void pin_af(unsigned port, unsigned pin, uint32_t pull_up)
{
    uint32_t two = 2u * pin, four = 4u * (pin % 8u);
    GPIO(port, GPIO_MODER) = (GPIO(port, GPIO_MODER) & ~(3u << two)) | 2u << two;
    GPIO(port, GPIO_PUPDR) = (GPIO(port, GPIO_PUPDR) & ~(3u << two)) | pull_up << two;
    volatile uint32_t *afr = &GPIO(port, GPIO_AFR + 4u * (pin / 8u));
    *afr = (*afr & ~(0xFu << four)) | (uint32_t)EDGETX_CONSOLE_PIN_AF << four;
}

void console_init(void)
{
    REG(EDGETX_RCC_BASE + EDGETX_RCC_GPIO_EN) |=
        1u << EDGETX_CONSOLE_TX_PORT | 1u << EDGETX_CONSOLE_RX_PORT;
    REG(EDGETX_RCC_BASE + EDGETX_RCC_CONSOLE_EN) |= 1u << EDGETX_RCC_CONSOLE_EN_BIT;
    (void)REG(EDGETX_RCC_BASE + EDGETX_RCC_CONSOLE_EN); /* let the enable reach the bus */
    pin_af(EDGETX_CONSOLE_TX_PORT, EDGETX_CONSOLE_TX_PIN, 0u);
    pin_af(EDGETX_CONSOLE_RX_PORT, EDGETX_CONSOLE_RX_PIN, 1u);
    USART_BRR = BRR;
    USART_CR1 = CR1_UE | CR1_TE | CR1_RE;
}

uint8_t console_getc(void)
{
    uint32_t status;
    while (!((status = USART_STATUS) & STATUS_RXNE)) {
        if (status & STATUS_ORE) { /* an overrun stops reception on some parts until cleared */
#if EDGETX_USART_LAYOUT == 1
            (void)USART_RX;
#else
            USART_ICR = STATUS_ORE;
#endif
        }
    }
    return (uint8_t)USART_RX;
}

void console_write(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        while (!(USART_STATUS & STATUS_TXE)) {
        }
        USART_TX = p[i];
    }
}
