/* ESP-IDF entry point: run the edgetx device agent (agent.c) on the main task. */
int edgetx_agent_main(void);

void app_main(void)
{
    edgetx_agent_main();
}
