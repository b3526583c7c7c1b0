/* test_spec.c - the architecture text format: presets have the documented
 * sizes, and every kind of mistake is refused with the line named. */
#include "nn_impl.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void presets(void)
{
    nn_net *net = nn_net_from_arch("fer-classic", 7);
    CHECK(net != NULL);
    if (net) {
        CHECK(nn_net_n_params(net) == 2866823);       /* 2.87 M, as designed */
        uint64_t macs = nn_net_macs(net);
        CHECK_MSG(macs > 77700000 && macs < 77900000, "fer-classic MACs %llu", (unsigned long long)macs);
        int c, h, w;
        nn_net_input_shape(net, &c, &h, &w);
        CHECK(c == 1 && h == 48 && w == 48);
        CHECK(nn_net_n_classes(net) == 7);
        nn_net_free(net);
    }
    for (int i = 0; nn_preset_names[i]; i++) {
        net = nn_net_from_arch(nn_preset_names[i], 6);
        CHECK_MSG(net != NULL, "%s: %s", nn_preset_names[i], nn_error());
        if (net)
            CHECK(net->layers[net->n_layers - 1].out_c == 6);
        nn_net_free(net);
    }
    net = nn_net_from_arch("einterface-128", 6);
    if (net) {
        int c, h, w;
        nn_net_input_shape(net, &c, &h, &w);
        CHECK(h == 128 && w == 128 && c == 1);
        nn_net_free(net);
    }
}

static void expect_error(const char *spec, const char *needle)
{
    nn_net *net = nn_net_from_spec(spec, 3);
    CHECK_MSG(net == NULL, "accepted: %s", spec);
    nn_net_free(net);
    CHECK_MSG(strstr(nn_error(), needle) != NULL, "error '%s' lacks '%s'", nn_error(), needle);
}

static void errors(void)
{
    expect_error("", "no layers");
    expect_error("# only a comment\n\n", "no layers");
    expect_error("conv 3 3x3\n", "line 1: the first layer must be 'input");
    expect_error("input 8x8x1\nconv 3 3x3\nfoo 2\n", "line 3: unknown layer 'foo'");
    expect_error("input 8x8x1\n\n# c\nconv x 3x3\n", "line 4:");
    expect_error("input 8x8x1\nconv 4 3x2\ndense classes softmax\n", "line 2: kernel 3x2 is not square");
    expect_error("input 8x8x1\nconv 4 9x9\ndense classes softmax\n", "line 2: 9x9 window does not fit");
    expect_error("input 8x8x1\nmaxpool 2 stride 0\ndense classes softmax\n", "line 2: 'stride'");
    expect_error("input 8x8x1\ndropout 1.5\ndense classes softmax\n", "line 2: expected 'dropout RATE'");
    expect_error("input 8x8x1\nflatten\nconv 2 3x3\ndense classes softmax\n", "line 3: conv needs an image");
    expect_error("input 8x8x1\nconv 2 3x3\ndense 5 softmax\n", "must end in 'dense classes softmax'");
    expect_error("input 8x8x1\nconv 2 3x3\ndense 5 softmax\n", "(3 outputs, found 5)");
    /* no softmax: "(7 outputs, found 7)" said nothing of what was wrong */
    expect_error("input 8x8x1\nconv 2 3x3\ndense classes\n", "the last layer is 'dense', without softmax");
    expect_error("input 8x8x1\nconv 2 3x3\nsoftmax\ndense classes softmax\n", "line 3: softmax");
    expect_error("input 8x8x1\nconv 2 3x3 wobble\ndense classes softmax\n", "line 2: unknown conv option 'wobble'");
    expect_error("input 0x8x1\ndense classes softmax\n", "line 1:");
    expect_error("input 8x8x1\ninput 8x8x1\ndense classes softmax\n", "line 2: 'input' may only be the first");
    expect_error("input 4096x4096x64\nconv 65536 3x3\ndense classes softmax\n", "too large");
    expect_error("input 8x8x1\ndense 999999999 relu\ndense classes softmax\n", "line 2:");
    /* residual blocks */
    expect_error("input 8x8x1\nconv 2 3x3 same\nend\ngap\ndense classes softmax\n", "line 3: 'end' without");
    expect_error("input 8x8x1\nresidual\nconv 2 3x3 same\ngap\ndense classes softmax\n",
                 "line 2: 'residual' without 'end'");
    expect_error("input 8x8x1\nresidual\nend\ngap\ndense classes softmax\n", "line 3: empty residual");
    expect_error("input 8x8x1\nresidual x\nconv 2 3x3\nend\ngap\ndense classes softmax\n", "line 2:");
    expect_error("input 8x8x1\nresidual\nconv 2 3x3 same\nend sideways\ngap\ndense classes softmax\n",
                 "line 4: expected 'end [relu]'");
    expect_error("input 8x8x1\nresidual\nconv 2 3x3 same\ngap\nend\ndense classes softmax\n",
                 "line 5: a residual block on an image must keep it an image (line 4)");
    expect_error("input 8x8x1\nconv 2 3x3\nse 0\ngap\ndense classes softmax\n", "line 3: expected 'se R'");
    expect_error("input 8x8x1\nconv 2 3x3\nse\ngap\ndense classes softmax\n", "line 3: expected 'se R'");
    expect_error("input 8x8x1\nconv 2 3x3\nflatten\nse 2\ndense classes softmax\n", "line 4: se needs an image");
    expect_error("input 8x8x1\ncrop 9x8\ngap\ndense classes softmax\n", "line 2: a 9x8 crop does not fit the 8x8");
    expect_error("input 8x8x1\ncrop\ngap\ndense classes softmax\n", "line 2: expected 'crop W[xH]'");
    expect_error("input 8x8x1\ncrop 4x4x4\ngap\ndense classes softmax\n", "line 2: expected 'crop W[xH]'");
    expect_error("input 8x8x1\ncrop 0\ngap\ndense classes softmax\n", "line 2: expected 'crop W[xH]'");
    expect_error("input 8x8x1\nflatten\ncrop 2\ndense classes softmax\n", "line 3: crop needs an image");
    /* 8x8 -> 6x6 (valid): no stride s has (8-1)/s+1 = 6 */
    expect_error("input 8x8x1\nresidual\nconv 2 3x3 valid\nend\ngap\ndense classes softmax\n",
                 "line 4: the block turns 8x8 into 6x6");
    CHECK(nn_net_from_spec("input 8x8x1\ndense classes softmax\n", 1) == NULL);
    CHECK(nn_net_from_arch("no-such-preset-or-file", 7) == NULL);
    CHECK(strstr(nn_error(), "neither a preset") != NULL);
}

static void grammar(void)
{
    /* Comments, blank lines, case, all layer kinds and forms of input. */
    const char *spec =
        "# a test net\n\n"
        "INPUT 12 10 1   # W H C\n"
        "conv 4 3 stride 1 same bn relu\n"
        "maxpool 2\n"
        "avgpool 1 stride 1\n"
        "conv 6 3x3 valid\n"
        "relu\n"
        "bn\n"
        "dropout 0.3\n"
        "crop 3x2\n"
        "gap\n"
        "dense 5 relu\n"
        "dense classes softmax\n";
    nn_net *net = nn_net_from_spec(spec, 4);
    CHECK_MSG(net != NULL, "%s", nn_error());
    if (!net)
        return;
    int c, h, w;
    nn_net_input_shape(net, &c, &h, &w);
    CHECK(w == 12 && h == 10 && c == 1);
    /* conv same keeps 10x12, maxpool -> 5x6, conv valid 3x3 -> 3x4 */
    CHECK(net->layers[1].out_h == 10 && net->layers[1].out_w == 12);
    CHECK(net->layers[4].out_h == 5 && net->layers[4].out_w == 6);
    CHECK(net->layers[6].out_h == 3 && net->layers[6].out_w == 4 && net->layers[6].out_c == 6);
    CHECK(net->layers[10].kind == NN_L_CROP && net->layers[10].out_w == 3 &&
          net->layers[10].out_h == 2 && net->layers[10].out_c == 6);
    CHECK(strcmp(nn_net_spec(net), spec) == 0);
    CHECK(net->layers[net->n_layers - 1].out_c == 4);
    /* params: conv 4*9+4, bn 8, conv 6*4*9+6, bn 12, dense 6*5+5, dense 5*4+4 */
    CHECK(nn_net_n_params(net) == 40 + 8 + 222 + 12 + 35 + 24);
    nn_net_free(net);
}

/* Residual blocks: geometry, projections only where needed, the
 * preset's size, and the layer descriptions info prints. */
static void residual(void)
{
    nn_net *net = nn_net_from_spec("input 9x9x2\nconv 4 3x3 same relu\nresidual\nconv 4 3x3 same\nend relu\n"
                                   "residual\nconv 6 3x3 stride 2 same\nend\ngap\ndense classes softmax\n", 3);
    CHECK_MSG(net != NULL, "%s", nn_error());
    if (net) {
        const nn_layer *a = &net->layers[4], *b = &net->layers[7];
        CHECK(a->kind == NN_L_ADD && a->src == 2 && a->nw == 0 && net->layers[5].kind == NN_L_RELU);
        CHECK(b->kind == NN_L_ADD && b->src == 5 && b->stride == 2 && b->nw == 6 * 4 && b->nb == 6);
        CHECK(b->out_c == 6 && b->out_h == 5 && b->out_w == 5 && b->src_h == 9);
        CHECK(net->layers[2].skip_src && net->layers[5].skip_src && !net->layers[3].skip_src);
        /* params: conv 4*2*9+4, conv 4*4*9+4, conv 6*4*9+6, proj 24+6, dense 6*3+3 */
        CHECK(nn_net_n_params(net) == 76 + 148 + 222 + 30 + 21);
        char buf[160];
        CHECK(strstr(nn_net_layer_desc(net, 7, buf, sizeof buf), "add layer 5, 1x1 stride 2 proj"));
        nn_net_free(net);
    }
    /* squeeze-and-excitation: C/R hidden units (at least 1) */
    net = nn_net_from_spec("input 6x6x1\nconv 8 3x3 same\nse 4\nse 16\ngap\ndense classes softmax\n", 3);
    CHECK_MSG(net != NULL, "%s", nn_error());
    if (net) {
        const nn_layer *s = &net->layers[2], *t = &net->layers[3];
        CHECK(s->kind == NN_L_SE && s->k == 2 && s->nw == 2 * 2 * 8 && s->nb == 2 + 8);
        CHECK(t->kind == NN_L_SE && t->k == 1 && t->nw == 2 * 8 && t->nb == 1 + 8);
        CHECK(s->out_c == 8 && s->out_h == 6 && s->out_w == 6);
        nn_net_free(net);
    }
    net = nn_net_from_arch("fer-resnet", 7);
    CHECK(net != NULL);
    if (net) {
        uint64_t macs = nn_net_macs(net);
        printf("fer-resnet: %zu parameters, %llu MACs\n", nn_net_n_params(net), (unsigned long long)macs);
        CHECK(macs >= 250000000 && macs <= 400000000);
        int adds = 0, projs = 0;
        for (int i = 0; i < net->n_layers; i++) {
            adds += net->layers[i].kind == NN_L_ADD;
            projs += net->layers[i].kind == NN_L_ADD && net->layers[i].nw;
        }
        CHECK(adds == 8 && projs == 3);
        nn_net_free(net);
    }
}

/* Files handed to --arch that are not plain spec text: a spec saved with
 * a UTF-8 byte-order mark is read (it said "found '\xEF\xBB\xBFinput'");
 * a model, a checkpoint, a picture and a folder are named for what they
 * are (line 1's complaint, "found 'emomodel'", did not say). */
static void arch_files(void)
{
    const char *tmp = getenv("TMPDIR");
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/test_spec-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    CHECK(mkdtemp(dir) != NULL);
    const struct {
        const char *name, *bytes;
        size_t len;
        const char *want; /* NULL: loads */
    } cases[] = {
        {"bom.txt", "\xEF\xBB\xBFinput 8x8x1\nflatten\ndense classes softmax\n", 45, NULL},
        {"a.model", "EMOMODEL\x01\0\0\0", 12, "a.model: a model file, not an architecture spec"},
        {"a.ckpt", "EMOCKPT\0\x02\0\0\0", 12, "a.ckpt: a training checkpoint"},
        {"a.png", "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16, "a.png: not a text file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, cases[i].name);
        FILE *f = fopen(path, "wb");
        CHECK(f && fwrite(cases[i].bytes, 1, cases[i].len, f) == cases[i].len);
        if (f)
            fclose(f);
        nn_net *net = nn_net_from_arch(path, 3);
        if (!cases[i].want) {
            CHECK_MSG(net && strcmp(nn_net_spec(net), cases[i].bytes + 3) == 0, "%s: %s",
                      cases[i].name, net ? "spec kept its mark" : nn_error());
        } else {
            CHECK(net == NULL);
            CHECK_MSG(strstr(nn_error(), cases[i].want), "%s: %s", cases[i].name, nn_error());
        }
        nn_net_free(net);
        remove(path);
    }
    CHECK(nn_net_from_arch(dir, 3) == NULL);
    CHECK_MSG(strstr(nn_error(), "a folder, not an architecture spec file"), "%s", nn_error());
    rmdir(dir);
}

int main(void)
{
    arch_files();
    residual();
    presets();
    errors();
    grammar();
    return test_done("test_spec");
}
