/* Console on UART0 (the DevKit's USB-UART bridge) through ESP-IDF's UART driver. */
#include "board_config.h"
#include "console.h"
#include "driver/uart.h"
#include "esp_err.h"
#include "freertos/FreeRTOS.h"

#define RX_BUFFER_BYTES 4096 /* one RUN request's input arrives while the agent is busy */

void console_init(void)
{
    const uart_config_t config = {
        .baud_rate = EDGETX_CONSOLE_BAUD,
        .data_bits = UART_DATA_8_BITS,
        .parity = UART_PARITY_DISABLE,
        .stop_bits = UART_STOP_BITS_1,
        .flow_ctrl = UART_HW_FLOWCTRL_DISABLE,
        .source_clk = UART_SCLK_DEFAULT,
    };
    ESP_ERROR_CHECK(uart_driver_install(UART_NUM_0, RX_BUFFER_BYTES, 0, 0, NULL, 0));
    ESP_ERROR_CHECK(uart_param_config(UART_NUM_0, &config));
}

uint8_t console_getc(void)
{
    uint8_t byte;
    while (uart_read_bytes(UART_NUM_0, &byte, 1, portMAX_DELAY) != 1) {
    }
    return byte;
}

void console_write(const uint8_t *p, size_t n)
{
    uart_write_bytes(UART_NUM_0, p, n);
}
