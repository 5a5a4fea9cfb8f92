/* SPDX-License-Identifier: MIT */
/*
 * Constants of the modern virtio-pci transport and the block device for the virtio payloads:
 * virtio 1.2 §4.1.4 (capability types, common configuration layout), §2.1 (status bits),
 * §2.7.5 (descriptor flags), §6 (VERSION_1) and §5.2 (block features, request types and
 * status values).
 *
 *   common configuration (§4.1.4.3), little endian:
 *   0  device_feature_select u32   4  device_feature u32   8  driver_feature_select u32
 *   12 driver_feature u32         16 config_msix_vector u16 18 num_queues u16
 *   20 device_status u8           21 config_generation u8  22 queue_select u16
 *   24 queue_size u16             26 queue_msix_vector u16 28 queue_enable u16
 *   30 queue_notify_off u16       32 queue_desc u64        40 queue_driver u64
 *   48 queue_device u64
 */
#ifndef BAREIRON_GUEST_VIRTIO_H
#define BAREIRON_GUEST_VIRTIO_H

#define VIRTIO_PCI_CAP_COMMON 1
#define VIRTIO_PCI_CAP_NOTIFY 2
#define VIRTIO_PCI_CAP_ISR 3
#define VIRTIO_PCI_CAP_DEVICE 4

#define VIRTIO_COMMON_DFSELECT 0
#define VIRTIO_COMMON_DF 4
#define VIRTIO_COMMON_GFSELECT 8
#define VIRTIO_COMMON_GF 12
#define VIRTIO_COMMON_MSIX 16
#define VIRTIO_COMMON_NUMQ 18
#define VIRTIO_COMMON_STATUS 20
#define VIRTIO_COMMON_CFGGEN 21
#define VIRTIO_COMMON_Q_SELECT 22
#define VIRTIO_COMMON_Q_SIZE 24
#define VIRTIO_COMMON_Q_MSIX 26
#define VIRTIO_COMMON_Q_ENABLE 28
#define VIRTIO_COMMON_Q_NOFF 30
#define VIRTIO_COMMON_Q_DESC 32
#define VIRTIO_COMMON_Q_AVAIL 40
#define VIRTIO_COMMON_Q_USED 48

#define VIRTIO_S_ACK 1
#define VIRTIO_S_DRIVER 2
#define VIRTIO_S_DRIVER_OK 4
#define VIRTIO_S_FEATURES_OK 8
#define VIRTIO_S_NEEDS_RESET 64
#define VIRTIO_S_FAILED 128

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2

#define VIRTIO_F_VERSION_1 32

#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_DWZ_F_UNMAP 1

/* Device configuration offsets (§5.2.4) */
#define VIRTIO_BLK_CFG_CAPACITY 0
#define VIRTIO_BLK_CFG_SEG_MAX 12
#define VIRTIO_BLK_CFG_BLK_SIZE 20
#define VIRTIO_BLK_CFG_MAX_DISCARD 36
#define VIRTIO_BLK_CFG_MAX_WZ 48

#endif
