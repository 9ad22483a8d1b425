/* Arm CMSDK APB UART (MPS2 boards), polled. */
#include "board_config.h"
#include "console.h"

#define UART_REG(off) (*(volatile uint32_t *)(EDGETX_CONSOLE_BASE + (off)))
#define UART_DATA UART_REG(0x00)
#define UART_STATE UART_REG(0x04)
#define UART_CTRL UART_REG(0x08)
#define UART_BAUDDIV UART_REG(0x10)

#define STATE_TX_FULL 0x1u
#define STATE_RX_FULL 0x2u
#define CTRL_TX_RX_ENABLE 0x3u

#define BAUDDIV (EDGETX_CONSOLE_CLOCK_HZ / EDGETX_CONSOLE_BAUD)
#if BAUDDIV < 16
#error "CMSDK UART needs BAUDDIV >= 16 (QEMU keeps the UART dead otherwise); lower console.baud"
#endif

void console_init(void)
{
    UART_BAUDDIV = BAUDDIV;
    UART_CTRL = CTRL_TX_RX_ENABLE;
}

uint8_t console_getc(void)
{
    while (!(UART_STATE & STATE_RX_FULL)) {
    }
    return (uint8_t)UART_DATA;
}

void console_write(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        while (UART_STATE & STATE_TX_FULL) {
        }
        UART_DATA = p[i];
    }
}
