/* Core clock set-up of real STM32 parts: the PLL from the internal RC oscillator to the
 * manifest's mcu.clock_hz, with flash wait states and bus dividers. One clocks_<driver>.c per
 * RCC family, chosen by the manifest's [clock] table; emulated boards have none. */
#ifndef EDGETX_CLOCKS_H
#define EDGETX_CLOCKS_H

void clocks_init(void);

#endif
