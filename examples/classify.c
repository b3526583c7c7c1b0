/* classify.c - name the emotion of a face with libemotion-engine:
 *   cc classify.c $(pkg-config --cflags --libs emotion-engine) -o classify
 *   ./classify MODEL FACE.pgm     (a gray face crop: binary PGM, no comments) */
#include <emotion_engine.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    nn_net *net = argc == 3 ? nn_net_load(argv[1]) : NULL;
    FILE *f = net ? fopen(argv[2], "rb") : NULL;
    int c, h, w, iw, ih, max, best = 0;
    if (!f || fscanf(f, "P5 %d %d %d", &iw, &ih, &max) != 3 || max != 255 || iw < 1 || ih < 1 || fgetc(f) < 0)
        return fprintf(stderr, "usage: classify MODEL FACE.pgm (%s)\n", nn_error()), 1;
    nn_net_input_shape(net, &c, &h, &w);
    unsigned char *img = malloc((size_t)iw * ih), *face = malloc((size_t)w * h);
    float *x = malloc(sizeof *x * c * h * w);
    if (!img || !face || !x || fread(img, 1, (size_t)iw * ih, f) != (size_t)iw * ih)
        return fprintf(stderr, "%s: truncated\n", argv[2]), 1;
    for (int y = 0; y < h * w; y++) /* nearest-neighbour resize to the net's input */
        face[y] = img[(size_t)(y / w * ih / h) * iw + y % w * iw / w];
    nn_preprocess_u8(net, face, x);
    const float *p = nn_net_forward(net, x, 1, 0);
    for (int k = 1; p && k < nn_net_n_classes(net); k++)
        best = p[k] > p[best] ? k : best;
    if (p)
        printf("%s %.3f\n", nn_net_class(net, best), p[best]);
    else
        fprintf(stderr, "%s\n", nn_error());
    fclose(f), free(img), free(face), free(x), nn_net_free(net);
    return p ? 0 : 1;
}
