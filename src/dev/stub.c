/* SPDX-License-Identifier: MIT */
/* Keeps dev_lib non-empty while the devices land; removed when bus.c exists. */
int dev_stub_unused(void);
int dev_stub_unused(void)
{
    return 0;
}
