/* classify.c - name the emotion of a face with libemotion-engine.
 *   cc classify.c $(pkg-config --cflags --libs emotion-engine) -o classify
 *   ./classify MODEL FACE.pgm   (8-bit binary PGM without comments, a face crop) */
#include <emotion_engine.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    nn_net *net = argc == 3 ? nn_net_load(argv[1]) : NULL;
    if (!net)
        return fprintf(stderr, "usage: classify MODEL FACE.pgm (%s)\n", nn_error()), 2;
    int c, h, w, iw, ih, maxval;
    nn_net_input_shape(net, &c, &h, &w);
    FILE *f = fopen(argv[2], "rb");
    if (!f || fscanf(f, "P5 %d %d %d", &iw, &ih, &maxval) != 3 || maxval != 255 || iw < 1 ||
        ih < 1 || fgetc(f) == EOF)
        return fprintf(stderr, "%s: not an 8-bit PGM\n", argv[2]), 1;
    unsigned char *img = malloc((size_t)iw * ih), *face = malloc((size_t)w * h);
    float *x = malloc(sizeof(float) * c * h * w);
    if (!img || !face || !x || fread(img, 1, (size_t)iw * ih, f) != (size_t)iw * ih)
        return fprintf(stderr, "%s: truncated\n", argv[2]), 1;
    for (int y = 0; y < h; y++) /* nearest-neighbour resize to the net's input */
        for (int i = 0; i < w; i++)
            face[y * w + i] = img[(size_t)(y * ih / h) * iw + i * iw / w];
    nn_preprocess_u8(net, face, x);
    const float *p = nn_net_forward(net, x, 1, 0);
    if (!p)
        return fprintf(stderr, "%s\n", nn_error()), 1;
    int best = 0;
    for (int k = 1; k < nn_net_n_classes(net); k++)
        best = p[k] > p[best] ? k : best;
    printf("%s %.3f\n", nn_net_class(net, best), p[best]);
    fclose(f);
    free(img), free(face), free(x);
    nn_net_free(net);
    return 0;
}
