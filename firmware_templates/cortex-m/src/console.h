/* Byte console to the host. One driver per board family, chosen by CONSOLE_DRIVER in config.mk
 * (console_<driver>.c), configured by board_config.h. */
#ifndef EDGETX_CONSOLE_H
#define EDGETX_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

void console_init(void);
uint8_t console_getc(void); /* blocks until a byte arrives */
void console_write(const uint8_t *p, size_t n);

#endif
