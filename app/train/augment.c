/* augment.c - on its way. */
typedef int ed_placeholder_augment;
