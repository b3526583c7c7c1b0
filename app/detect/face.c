/* face.c - crop framing; see face.h. */
#include "face.h"

#include <math.h>

cvw_rect face_crop_rect(cvw_rect box, int frame_w, int frame_h, float margin, float shift)
{
    if (margin < 0)
        margin = 0;
    int longer = box.w > box.h ? box.w : box.h;
    int side = (int)lroundf((float)longer * (1 + margin));
    int limit = frame_w < frame_h ? frame_w : frame_h;
    if (side > limit)
        side = limit;
    if (side < 1)
        side = 1;
    /* Centre in doubled coordinates keeps odd sizes exact. */
    int x = (2 * box.x + box.w - side) / 2;
    int y = (2 * box.y + box.h - side) / 2 - (int)lroundf(shift * (float)longer);
    if (x + side > frame_w)
        x = frame_w - side;
    if (y + side > frame_h)
        y = frame_h - side;
    if (x < 0)
        x = 0;
    if (y < 0)
        y = 0;
    return (cvw_rect){x, y, side, side};
}
